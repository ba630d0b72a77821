// Late booking writes against Idempotency-Key replay and crashed expirers (found by review): an
// abandoned attempt taken over by a repeat is fenced before its seats go back; a hold
// answered 503 because its booking was written after the hold lapsed is tried again by a repeat,
// never replayed as 201 with a FAILED booking; seats left HELD for a FAILED booking (its expirer
// died between the booking's transition and the seats') are freed by its job, not only the sweep.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Types } from 'mongoose'
import { auditSeats } from '../audit.js'
import { buildTestApp, confirm, createShow, hold, json, signUp, waitFor } from '../helper.js'

interface Body { id: string, status: string, code?: string }

/** Holds back the first booking insert (the write itself) until `release` is called. */
function gateFirstInsert (app: Awaited<ReturnType<typeof buildTestApp>>): { entered: Promise<void>, release: () => void } {
  const collection = app.models.Booking.collection
  const insertOne = collection.insertOne.bind(collection)
  let gated = true
  let release = (): void => {}
  let entered = (): void => {}
  const opened = new Promise<void>((resolve) => { release = resolve })
  const reached = new Promise<void>((resolve) => { entered = resolve })
  ;(collection as unknown as { insertOne: typeof insertOne }).insertOne = (async (...args: Parameters<typeof insertOne>) => {
    if (gated) { gated = false; entered(); await opened }
    return await insertOne(...args)
  }) as typeof insertOne
  return { entered: reached, release }
}

t.test('a hold answered 503 (its booking written after heldUntil), repeated with the same Idempotency-Key, is not answered 201 with a FAILED booking', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '2', SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const user = await signUp(app)
  const gate = gateFirstInsert(app)
  const first = hold(app, user.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'checkout' })
  await gate.entered
  await sleep(2500)
  gate.release()
  const res = await first
  t.equal(res.statusCode, 503, 'the late write is answered 503 ("nothing is held, try again")')
  // The client does as told: tries again, with the same key (what the key is for).
  const repeat = await hold(app, user.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'checkout' })
  t.comment(`repeat: ${repeat.statusCode} ${json<Body>(repeat).status ?? json<Body>(repeat).code}`)
  // API.md: 201 means a booking with status PENDING; a repeat of an unanswered attempt either holds or refuses.
  t.not(repeat.statusCode === 201 && json<Body>(repeat).status !== 'PENDING', true, 'never 201 with a booking that holds nothing')
})

t.test('a booking FAILED by an expirer that died before freeing its seats: its own job (rerun) or the overdue pass frees them, not only the sweep', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '2', SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const user = await signUp(app)
  const res = await hold(app, user.authorization, show.id, { seatLabels: ['A1'] })
  t.equal(res.statusCode, 201)
  const id = json<Body>(res).id
  // expireBookingIfDue's transition, without the release that follows it (its process was killed between them).
  await app.models.Booking.updateOne({ _id: id }, { $set: { status: 'FAILED', failureReason: 'EXPIRED' } })
  const jobs = app.models.Booking.db.collection('agendaJobs')
  await waitFor('the expire-hold job to have run', 15_000, async () =>
    await jobs.countDocuments({ 'data.bookingId': id }) === 0 ? true : undefined)
  // The overdue pass (every 2 s on each instance) and a rerun of the job, as after a lock lapse.
  await app.services.bookings.expireOverdueHolds(new Date())
  t.comment(`job rerun: ${String(await app.services.bookings.expireHoldJob(new Types.ObjectId(id)))}`)
  const seat = await app.models.Seat.findOne({ showId: show.id, label: 'A1' }).lean<{ status: string, bookingId: unknown }>()
  t.comment(`A1: ${seat?.status} for ${String(seat?.bookingId)}`)
  t.equal(seat?.status, 'AVAILABLE', 'A1 is not left HELD for a FAILED booking until the sweep')
})

t.test('an attempt taken over as abandoned (IN_PROGRESS past STALE_MS) whose booking insert is still in flight: fenced, never a second live booking', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '120', SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const user = await signUp(app)
  const gate = gateFirstInsert(app)
  const first = hold(app, user.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'stalled' })
  await gate.entered
  // The first attempt's instance stalls past STALE_MS: its key's entry is made 120 s old.
  await app.models.IdempotencyKey.updateOne({ userId: user.id, key: 'stalled' }, { $set: { createdAt: new Date(Date.now() - 120_000) } })
  const repeat = await hold(app, user.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'stalled' })
  t.equal(repeat.statusCode, 201, 'the repeat took the key over and held A1 again')
  const repeatId = json<Body>(repeat).id
  // The stalled insert lands now, well before its heldUntil, on the fence.
  gate.release()
  const res = await first
  t.equal(res.statusCode, 503, 'the abandoned attempt is not answered 201')
  const bookings = await app.models.Booking.find({ userId: user.id }).lean<Array<{ _id: unknown, status: string, failureReason: string | null, seats: unknown[] }>>()
  const others = bookings.filter((b) => String(b._id) !== repeatId)
  t.same(others.map((b) => [b.status, b.failureReason, b.seats.length]), [['FAILED', 'ABANDONED', 0]], 'the abandoned attempt\'s id holds only its fence')
  const entry = await app.models.IdempotencyKey.findOne({ userId: user.id, key: 'stalled' }).lean<{ state: string, response?: { id?: string } }>()
  t.equal(entry?.response?.id, repeatId, 'the key replays the repeat\'s booking (the abandoned attempt recorded nothing)')
  t.equal((await confirm(app, user.authorization, repeatId)).statusCode, 200, 'the repeat\'s booking confirms')
  t.same(await auditSeats(app.models, show.id), [], 'the seat audit finds nothing')
})
