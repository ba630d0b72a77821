import t from 'tap'
import { Types, trusted } from 'mongoose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createShow, getBooking, hold, json, seatMap, signUp, statusByLabel, waitFor } from '../helper.js'
import { auditSeats } from '../audit.js'
import { hashPassword } from '../../src/services/passwords.js'
import { EXPIRE_HOLD_NAMES } from '../../src/jobs/expire-hold.js'

/** Many signed-in users without paying scrypt for each: written directly, tokens issued by the app. */
async function manyUsers (app: FastifyInstance, n: number): Promise<Array<{ authorization: string, id: string }>> {
  const passwordHash = await hashPassword('password-123')
  const docs = await app.models.User.insertMany(Array.from({ length: n }, (_, i) => ({
    email: `racer-${i}-${Date.now()}@example.com`, name: `racer ${i}`, passwordHash, role: 'USER'
  })))
  return docs.map((d) => ({
    id: d._id.toHexString(),
    authorization: `Bearer ${app.signAccessToken({ id: d._id.toHexString(), email: d.email, name: d.name, role: 'USER' }).token}`
  }))
}

t.test('100 users racing for the same 3 seats: exactly one wins', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const users = await manyUsers(app, 100)
  const answers = await Promise.all(users.map((u) => hold(app, u.authorization, show.id, { seatLabels: ['A1', 'A2', 'A3'] })))
  const codes = answers.map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 201).length, 1, 'one hold succeeds')
  t.equal(codes.filter((c) => c === 409).length, 99, 'the other 99 are refused')
  for (const r of answers.filter((a) => a.statusCode === 409)) t.equal(json(r).code, 'SEATS_UNAVAILABLE')
  const map = await seatMap(app, show.id)
  t.same(map.counts, { AVAILABLE: 17, HELD: 3, BOOKED: 0 })
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('300 overlapping multi-seat holds on 50 seats: no seat in two live bookings', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app, { seating: { totalSeats: 50, seatsPerRow: 10 } })
  const labels = (await seatMap(app, show.id)).seats.map((s) => s.label)
  const users = await manyUsers(app, 30)
  // Deterministic pseudo-random overlapping requests of 1–4 seats.
  let seed = 42
  const next = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed }
  const requests = Array.from({ length: 300 }, (_, i) => {
    const size = 1 + (next() % 4)
    const start = next() % (labels.length - size)
    return { user: users[i % users.length], seatLabels: labels.slice(start, start + size) }
  })
  const answers = await Promise.all(requests.map((r) => hold(app, r.user.authorization, show.id, { seatLabels: r.seatLabels })))
  t.ok(answers.every((r) => r.statusCode === 201 || r.statusCode === 409), 'every answer is 201 or 409')
  const won = answers.filter((r) => r.statusCode === 201).map((r) => json<{ seats: Array<{ label: string }> }>(r))
  const heldLabels = won.flatMap((b) => b.seats.map((s) => s.label))
  t.equal(new Set(heldLabels).size, heldLabels.length, 'no label won twice')
  const map = await seatMap(app, show.id)
  t.equal(map.counts.HELD, heldLabels.length, 'the seat map agrees with the bookings')
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('all-or-nothing: a hold failing on its last seat leaves the earlier seats AVAILABLE', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const [alice, bob] = await manyUsers(app, 2)
  const map = await seatMap(app, show.id)
  // Claims go in id order, so take the seat with the highest id: bob's claim fails last.
  const byId = [...map.seats].sort((a, b) => a.id.localeCompare(b.id))
  const last = byId[byId.length - 1]
  t.equal((await hold(app, alice.authorization, show.id, { seatIds: [last.id] })).statusCode, 201)
  const refused = await hold(app, bob.authorization, show.id, { seatIds: [byId[0].id, byId[1].id, last.id] })
  t.equal(refused.statusCode, 409)
  t.same(json(refused).details, { seats: [last.label] }, 'names the taken seat')
  const after = await seatMap(app, show.id)
  t.same(after.counts, { AVAILABLE: 19, HELD: 1, BOOKED: 0 })
  t.equal(after.seats.find((s) => s.id === byId[0].id)?.status, 'AVAILABLE')
  t.equal(await app.models.Booking.countDocuments({ userId: bob.id }), 0, 'no booking was written for the refused hold')
})

t.test('a hold lapses: FAILED/EXPIRED and seats AVAILABLE within SWEEP_SECONDS + 1 s of expiresAt', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '1', SWEEP_SECONDS: '1' })
  const show = await createShow(app)
  const user = await signUp(app)
  const res = await hold(app, user.authorization, show.id, { seatLabels: ['B1', 'B2'] })
  t.equal(res.statusCode, 201)
  const booking = json<{ id: string, expiresAt: string }>(res)
  await waitFor('the hold to expire', new Date(booking.expiresAt).getTime() + 2000 - Date.now(), async () =>
    json<{ status: string }>(await getBooking(app, user.authorization, booking.id)).status !== 'PENDING' ? true : undefined)
  const final = json<{ status: string, failureReason: string }>(await app.inject({ method: 'GET', url: `/api/bookings/${booking.id}`, headers: { authorization: user.authorization } }))
  t.equal(final.status, 'FAILED')
  t.equal(final.failureReason, 'EXPIRED')
  t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 })
})

t.test('a hold whose expire-hold job was lost is expired by the sweep', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '1', SWEEP_SECONDS: '1' })
  const show = await createShow(app)
  const user = await signUp(app)
  const booking = json<{ id: string, expiresAt: string }>(await hold(app, user.authorization, show.id, { seatLabels: ['A1'] }))
  await app.agenda.cancel({ names: EXPIRE_HOLD_NAMES })
  const doc = await waitFor('the sweep to expire the hold', new Date(booking.expiresAt).getTime() + 2000 - Date.now(), async () => {
    const now = await app.models.Booking.findById(booking.id).lean()
    return now?.status !== 'PENDING' ? now : undefined
  })
  t.equal(doc?.status, 'FAILED')
  t.same((await seatMap(app, show.id)).counts.HELD, 0)
})

t.test('confirm racing expiry at the boundary: exactly one wins, 200 times', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app, { seating: { totalSeats: 200, seatsPerRow: 20 } })
  const [user] = await manyUsers(app, 1)
  const map = await seatMap(app, show.id)
  const bookings = []
  for (const seat of map.seats) bookings.push(json<{ id: string }>(await hold(app, user.authorization, show.id, { seatIds: [seat.id] })))
  // For each booking: move its hold's end to within a few ms of now, then fire confirm and
  // expiry together, so either may find the hold still running or already over.
  const results = []
  for (let i = 0; i < bookings.length; i += 10) {
    results.push(...await Promise.all(bookings.slice(i, i + 10).map(async (b, j) => {
      const at = new Date(Date.now() + 12 + ((i + j) % 11) - 5)
      await app.models.Booking.updateOne({ _id: b.id }, { $set: { expiresAt: at } })
      await app.models.Seat.updateMany({ bookingId: b.id }, { $set: { heldUntil: at } })
      const [confirm, expired] = await Promise.all([
        app.inject({ method: 'POST', url: `/api/bookings/${b.id}/confirm`, headers: { authorization: user.authorization } }),
        app.services.bookings.expireHold(new Types.ObjectId(b.id))
      ])
      return { id: b.id, confirm, expired }
    })))
  }
  let confirmed = 0
  let failed = 0
  for (const r of results) {
    const doc = await app.models.Booking.findById(r.id).lean()
    const seat = await app.models.Seat.findOne({ _id: doc?.seats[0].id }).lean()
    if (doc?.status === 'CONFIRMED') {
      confirmed++
      t.equal(r.expired, false, 'the expiry that lost did nothing')
      t.equal(r.confirm.statusCode, 200, 'the confirm that won answered 200')
      t.equal(seat?.status, 'BOOKED')
    } else {
      failed++
      t.equal(doc?.status, 'FAILED')
      t.equal(r.confirm.statusCode, 409)
      t.equal(json(r.confirm).code, 'HOLD_EXPIRED')
      t.equal(seat?.status, 'AVAILABLE')
    }
  }
  t.equal(confirmed + failed, 200)
  t.comment(`confirmed ${confirmed}, expired ${failed}`)
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('recovery: the sweep settles what crashes leave behind', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const past = new Date(Date.now() - 1000)
  const map = await seatMap(app, show.id)
  const [s1, s2, s3, s4] = map.seats

  // A crash after the claims: seats HELD by a booking that was never written.
  await app.models.Seat.updateMany({ _id: trusted({ $in: [s1.id, s2.id] }) }, { $set: { status: 'HELD', bookingId: new Types.ObjectId(), heldUntil: past } })
  // A crash after the confirm: the booking is CONFIRMED, its seats still HELD.
  const confirmed = json<{ id: string }>(await hold(app, user.authorization, show.id, { seatIds: [s3.id, s4.id] }))
  await app.models.Booking.updateOne({ _id: confirmed.id }, { $set: { status: 'CONFIRMED', confirmedAt: new Date() } })
  await app.models.Seat.updateMany({ bookingId: confirmed.id }, { $set: { heldUntil: past } })

  const result = await app.services.bookings.sweepStaleHolds()
  t.equal(result.settled, 4)
  const after = await seatMap(app, show.id)
  t.equal(after.seats.find((s) => s.id === s1.id)?.status, 'AVAILABLE', 'orphan claim rolled back')
  t.equal(after.seats.find((s) => s.id === s2.id)?.status, 'AVAILABLE')
  t.equal(after.seats.find((s) => s.id === s3.id)?.status, 'BOOKED', 'confirmed booking rolled forward')
  t.equal(after.seats.find((s) => s.id === s4.id)?.status, 'BOOKED')
  t.same(await auditSeats(app.models, show.id), [])
  t.same(await app.services.bookings.sweepStaleHolds(), { expired: 0, settled: 0, cancelled: 0 }, 'a second sweep finds nothing to do')
})

t.test('recovery: a cancel of a confirmed booking that died half-way is finished by the sweep', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const booking = json<{ id: string }>(await hold(app, user.authorization, show.id, { seatLabels: ['A1'] }))
  await app.inject({ method: 'POST', url: `/api/bookings/${booking.id}/confirm`, headers: { authorization: user.authorization } })
  // Died after the booking turned CANCELLED, before the seats were released (they were moved to HELD first).
  await app.models.Seat.updateMany({ bookingId: booking.id }, { $set: { status: 'HELD', heldUntil: new Date(Date.now() - 1) } })
  await app.models.Booking.updateOne({ _id: booking.id }, { $set: { status: 'CANCELLED', cancelledAt: new Date() } })
  await app.services.bookings.sweepStaleHolds()
  t.equal((await seatMap(app, show.id)).seats.find((s) => s.label === 'A1')?.status, 'AVAILABLE')
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('recovery: a cancel that stalled past its grace (its seats rolled forward to BOOKED), then died after CANCELLED, is finished by the sweep', async (t) => {
  // The overdue pass off: it frees such seats too (a second after the cancel), and this is the sweep's test.
  const app = await buildTestApp(t, { OVERDUE_PASS_MS: '0' })
  const show = await createShow(app)
  const user = await signUp(app)
  const cancelled = json<{ id: string }>(await hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }))
  const kept = json<{ id: string }>(await hold(app, user.authorization, show.id, { seatLabels: ['A3'] }))
  for (const b of [cancelled, kept]) {
    t.equal((await app.inject({ method: 'POST', url: `/api/bookings/${b.id}/confirm`, headers: { authorization: user.authorization } })).statusCode, 200)
  }
  // The end state: the booking CANCELLED, its seats BOOKED (no step but this one looks at BOOKED seats).
  await app.models.Booking.updateOne({ _id: cancelled.id }, { $set: { status: 'CANCELLED', cancelledAt: new Date(), releasePending: true } })
  t.not((await auditSeats(app.models, show.id)).length, 0, 'the audit sees the stuck seats')
  t.same(await app.services.bookings.sweepStaleHolds(), { expired: 0, settled: 2, cancelled: 0 })
  const seats = await statusByLabel(app, show.id)
  t.same([seats.A1, seats.A2, seats.A3], ['AVAILABLE', 'AVAILABLE', 'BOOKED'], 'the cancelled booking\'s seats freed, a confirmed one\'s kept')
  t.same(await auditSeats(app.models, show.id), [])
  t.same(await app.services.bookings.sweepStaleHolds(), { expired: 0, settled: 0, cancelled: 0 }, 'a second sweep finds nothing to do')
  // A cancel that runs to its end clears the flag it set with CANCELLED: the sweep never looks at it.
  t.equal((await app.inject({ method: 'POST', url: `/api/bookings/${kept.id}/cancel`, headers: { authorization: user.authorization } })).statusCode, 200)
  t.same(await app.models.Booking.findById(kept.id, { status: 1, releasePending: 1, _id: 0 }).lean(), { status: 'CANCELLED' })
  t.equal(await app.models.Booking.countDocuments({ releasePending: true }), 0)
})

t.test('Idempotency-Key: 20 concurrent repeats make one booking with identical answers', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const answers = await Promise.all(Array.from({ length: 20 }, () =>
    hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'checkout-1' })))
  t.same(new Set(answers.map((r) => r.statusCode)), new Set([201]))
  t.equal(new Set(answers.map((r) => r.body)).size, 1, 'identical bodies')
  t.equal(await app.models.Booking.countDocuments({ userId: user.id }), 1, 'one booking')
  const other = await hold(app, user.authorization, show.id, { seatLabels: ['A3'] }, { 'idempotency-key': 'checkout-1' })
  t.equal(other.statusCode, 422)
  t.equal(json(other).code, 'IDEMPOTENCY_KEY_REUSED')
})

t.test('a hold that lands after its show was cancelled can never be confirmed', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const booking = json<{ id: string }>(await hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }))
  // The admin's cancel ran while this hold was in flight: the show is CANCELLED, yet the
  // booking (written after the show's bookings were cancelled) is still PENDING.
  await app.models.Show.updateOne({ _id: show.id }, { $set: { status: 'CANCELLED' } })
  const res = await app.inject({ method: 'POST', url: `/api/bookings/${booking.id}/confirm`, headers: { authorization: user.authorization } })
  t.equal(res.statusCode, 409)
  t.equal(json(res).code, 'SHOW_NOT_BOOKABLE')
  t.equal((await app.models.Booking.findById(booking.id).lean())?.status, 'CANCELLED', 'the booking is cancelled')
  t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'its seats are free')
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('a cancel racing a confirm that books its seats late still frees them', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const booking = json<{ id: string }>(await hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }))
  // The confirm has won on the booking but not yet moved its seats HELD → BOOKED ...
  await app.models.Booking.updateOne({ _id: booking.id }, { $set: { status: 'CONFIRMED', confirmedAt: new Date() } })
  // ... and does so right after the cancel's own BOOKED → HELD step (which then found nothing to move).
  const seats = app.models.Seat.collection
  const updateMany = seats.updateMany.bind(seats)
  let interleaved = false
  seats.updateMany = ((filter: Record<string, unknown>, update: Record<string, unknown>) => {
    const step = updateMany(filter, update)
    if (interleaved || filter.status !== 'BOOKED') return step
    interleaved = true
    return step.then(async (result) => {
      await updateMany({ bookingId: new Types.ObjectId(booking.id), status: 'HELD' }, { $set: { status: 'BOOKED', heldUntil: null } })
      return result
    })
  }) as never
  const res = await app.inject({ method: 'POST', url: `/api/bookings/${booking.id}/cancel`, headers: { authorization: user.authorization } })
  seats.updateMany = updateMany
  t.ok(interleaved, 'the late booking step ran inside the cancel')
  t.equal(res.statusCode, 200)
  t.equal(json(res).status, 'CANCELLED')
  t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'no seat stays BOOKED by a cancelled booking')
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('Idempotency-Key: an answer that could not be recorded is still the answer a repeat gets', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const Keys = app.models.IdempotencyKey
  const updateOne = Keys.updateOne.bind(Keys)
  let lost = false
  Keys.updateOne = ((...args: Parameters<typeof updateOne>) => {
    if (lost) return updateOne(...args)
    lost = true
    return Promise.reject(new Error('simulated: the write recording the answer was lost'))
  }) as never
  const first = await hold(app, user.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'lost-answer' })
  Keys.updateOne = updateOne
  t.ok(lost, 'recording the answer failed')
  t.equal(first.statusCode, 201, 'the hold itself succeeded')
  // Once the attempt counts as abandoned, a repeat finds the booking it made.
  await Keys.updateOne({ userId: user.id, key: 'lost-answer' }, { $set: { createdAt: new Date(Date.now() - 120_000) } })
  const repeat = await hold(app, user.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'lost-answer' })
  t.equal(repeat.statusCode, 201)
  t.equal(json(repeat).id, json(first).id, 'the same booking')
  t.equal(await app.models.Booking.countDocuments({ userId: user.id }), 1, 'never a second booking')
})

t.test('Idempotency-Key: a key written before attemptId was named bookingId still replays its booking', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const first = await hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'old-release' })
  t.equal(first.statusCode, 201)
  // As the previous release left an attempt that gave no answer: RETRY, its attempt under `bookingId`.
  const keys = app.models.IdempotencyKey.collection
  await keys.updateOne({ key: 'old-release' }, { $set: { state: 'RETRY', bookingId: new Types.ObjectId(json(first).id as string), statusCode: null, response: null }, $unset: { attemptId: '' } })
  const repeat = await hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'old-release' })
  t.equal(repeat.statusCode, 201, 'not a 409 on its own seats')
  t.equal(json(repeat).id, json(first).id, 'the booking the first attempt made')
  t.equal(await app.models.Booking.countDocuments({ userId: user.id }), 1, 'never a second booking')
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('Idempotency-Key: an attempt that failed mid-claims is retried cleanly by a repeat', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const seats = app.models.Seat.collection
  const claim = seats.findOneAndUpdate.bind(seats)
  let claims = 0
  seats.findOneAndUpdate = ((...args: Parameters<typeof claim>) => {
    // The first claim lands, the second fails as if the database had hiccupped.
    if (++claims === 2) return Promise.reject(new Error('simulated failure mid-claims'))
    return claim(...args)
  }) as never
  const first = await hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'flaky' })
  seats.findOneAndUpdate = claim
  t.equal(first.statusCode, 500, 'the attempt failed without an answer')
  const repeat = await hold(app, user.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'flaky' })
  t.equal(repeat.statusCode, 201, 'the repeat holds the seats (the attempt\'s own claim is not in its way)')
  // One live booking; the abandoned attempt's id is fenced (its insert, were it still in flight,
  // could not land): a FAILED booking without seats, failureReason ABANDONED.
  const mine = await app.models.Booking.find({ userId: user.id }).lean<Array<{ status: string, failureReason: string | null, seats: unknown[] }>>()
  t.same(mine.map((b) => [b.status, b.failureReason, b.seats.length]).sort(), [['FAILED', 'ABANDONED', 0], ['PENDING', null, 2]], 'one live booking and the fence')
  t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 18, HELD: 2, BOOKED: 0 })
  t.same(await auditSeats(app.models, show.id), [])
})

t.test('the same seat id twice, in different letter case, is a duplicate (400), not a conflict', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  const [seat] = (await seatMap(app, show.id)).seats
  const res = await hold(app, user.authorization, show.id, { seatIds: [seat.id, seat.id.toUpperCase()] })
  t.equal(res.statusCode, 400)
  t.equal(json(res).code, 'VALIDATION_ERROR')
  t.same((await seatMap(app, show.id)).counts.HELD, 0, 'nothing held')
})
