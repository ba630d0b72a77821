// API.md § Creating a show (categories, rowPreference, venue optional), the seat map's category and
// price, § Best available, POST /api/bookings/:id/extend and MAX_HOLD_EXTENSIONS (issue 14).
import t from 'tap'
import { Types } from 'mongoose'
import { adminAuth, buildTestApp, cancel, confirm, createShow, hold, holdOk, json, seatMap, signUp, statusByLabel } from '../helper.js'
import { expectError, expectValidationError, inFuture, DAY, type Booking, type ErrorBody, type SeatMap, type Show } from './contract.js'
import { EXPIRE_HOLD_NAMES } from '../../src/jobs/expire-hold.js'
import { bestAvailableLimits } from '../../src/services/booking-service.js'
import type { SeatSnapshot } from '../../src/services/seat-map-cache.js'

const CATEGORISED = {
  priceCents: 1250,
  seating: { totalSeats: 40, seatsPerRow: 8, rowPreference: ['C', 'D', 'B'] },
  categories: [
    { name: 'PREMIUM', priceCents: 1800, rows: ['C', 'D'] },
    { name: 'ACCESSIBLE', priceCents: 900, labels: ['A1', 'A2', 'C1'] }
  ]
}

t.test('box office', async (t) => {
  const app = await buildTestApp(t, { MAX_SEATS_PER_BOOKING: '6', MAX_HOLD_EXTENSIONS: '2' })
  const admin = await adminAuth(app)
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob')
  const post = async (url: string, payload: unknown, authorization = admin.authorization) => app.inject({ method: 'POST', url, headers: { authorization }, payload: payload as Record<string, unknown> })
  const extend = async (authorization: string, id: string) => app.inject({ method: 'POST', url: `/api/bookings/${id}/extend`, headers: { authorization } })
  const body = (res: { body: string }) => JSON.parse(res.body) as ErrorBody

  t.test('a categorised show: seats priced by the first category naming them; the show counts each category', async (t) => {
    const show = json<Show>(await post('/api/admin/shows', { name: 'Gala', type: 'EVENT', startTime: inFuture(DAY), ...CATEGORISED }))
    t.equal(show.venue, null, 'venue is optional: null')
    t.same(show.categories, [
      { name: 'PREMIUM', priceCents: 1800, totalSeats: 16, availableSeats: 16 },
      // C1 is named by PREMIUM first: ACCESSIBLE has only A1 and A2.
      { name: 'ACCESSIBLE', priceCents: 900, totalSeats: 2, availableSeats: 2 },
      { name: 'STANDARD', priceCents: 1250, totalSeats: 22, availableSeats: 22 }
    ])
    const map = await seatMap(app, show.id) as SeatMap
    const byLabel = Object.fromEntries(map.seats.map((s) => [s.label, s]))
    t.match(byLabel.A1, { category: 'ACCESSIBLE', priceCents: 900 })
    t.match(byLabel.A3, { category: 'STANDARD', priceCents: 1250 })
    t.match(byLabel.C1, { category: 'PREMIUM', priceCents: 1800 })
    t.match(byLabel.D8, { category: 'PREMIUM', priceCents: 1800 })

    const booking = await holdOk(app, alice.authorization, show.id, ['A1', 'A3', 'C4'])
    t.same(booking.seats.map((s) => [s.label, s.category, s.priceCents]).sort(), [['A1', 'ACCESSIBLE', 900], ['A3', 'STANDARD', 1250], ['C4', 'PREMIUM', 1800]])
    t.equal(booking.totalPriceCents, 900 + 1250 + 1800, 'the total is the sum of the seats\' prices')
    t.equal(booking.extensions, 0)
    const again = json<Show>(await app.inject({ method: 'GET', url: `/api/shows/${show.id}` }))
    t.same(again.categories.map((c) => [c.name, c.availableSeats]), [['PREMIUM', 15], ['ACCESSIBLE', 1], ['STANDARD', 21]])
  })

  t.test('bad categories and rowPreference: 400 naming them; nothing is made', async (t) => {
    const before = await app.models.Show.countDocuments()
    const seatsBefore = await app.models.Seat.countDocuments()
    const base = { name: 'x', type: 'MOVIE', startTime: inFuture(DAY), seating: { totalSeats: 20, seatsPerRow: 10 } }
    const refuse = async (payload: Record<string, unknown>, expected: ErrorBody, what: string) => {
      const res = await post('/api/admin/shows', { ...base, ...payload })
      expectError(t, res, 400, expected.code, what)
      t.same(body(res), expected, `${what}: the whole body`)
    }
    await refuse({ seating: { totalSeats: 20, seatsPerRow: 10, rowPreference: ['B', 'Q', 'ZZ'] } }, {
      statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request',
      message: 'body/seating/rowPreference names rows the seating does not have: Q, ZZ',
      details: { field: 'body/seating/rowPreference', values: ['Q', 'ZZ'] }
    }, 'unknown rows in rowPreference')
    await refuse({ categories: [{ name: 'VIP', priceCents: 1, rows: ['A', 'C'] }] }, {
      statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request',
      message: 'body/categories/0/rows names rows the seating does not have: C',
      details: { field: 'body/categories/0/rows', values: ['C'] }
    }, 'unknown row in a category')
    await refuse({ categories: [{ name: 'VIP', priceCents: 1, labels: ['A1', 'A11'] }] }, {
      statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request',
      message: 'body/categories/0/labels names seats the seating does not have: A11',
      details: { field: 'body/categories/0/labels', values: ['A11'] }
    }, 'unknown label in a category')
    await refuse({ categories: [{ name: 'VIP', priceCents: 1, rows: ['A'] }, { name: 'VIP', priceCents: 2, rows: ['B'] }] }, {
      statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request',
      message: 'body/categories/1/name duplicates the category name VIP',
      details: { field: 'body/categories/1/name', values: ['VIP'] }
    }, 'duplicate category name')
    await refuse({ categories: [{ name: 'VIP', priceCents: 1 }] }, {
      statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request',
      message: 'body/categories/0 must have exactly one of rows or labels', details: { field: 'body/categories/0' }
    }, 'a category naming no seats')
    await refuse({ categories: [{ name: 'STANDARD', priceCents: 1, rows: ['A'] }] }, {
      statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request',
      message: 'body/categories/0/name must not be STANDARD: it is the category of seats no category names', details: { field: 'body/categories/0/name' }
    }, 'STANDARD is reserved')
    await refuse({ seating: { labels: ['L1', 'U1'] }, categories: [{ name: 'LOWER', priceCents: 1, rows: ['L'] }] }, {
      statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request',
      message: 'body/categories/0/rows is for generated seating; a label-seated show names seats by labels', details: { field: 'body/categories/0/rows' }
    }, 'rows on a label-seated show')
    // Schema-level refusals name the field too.
    const schemaRefusal = async (payload: Record<string, unknown>, field: RegExp, what: string) => {
      const b = expectValidationError(t, await post('/api/admin/shows', { ...base, ...payload }), field, what)
      t.match(b.details, { field }, `${what}: details.field`)
    }
    await schemaRefusal({ categories: [{ name: 'vip', priceCents: 1, rows: ['A'] }] }, /categories\/0\/name/, 'lower-case name')
    await schemaRefusal({ categories: [{ name: 'X'.repeat(33), priceCents: 1, rows: ['A'] }] }, /categories\/0\/name/, 'name too long')
    await schemaRefusal({ categories: [{ name: 'VIP', priceCents: -1, rows: ['A'] }] }, /categories\/0\/priceCents/, 'negative price')
    await schemaRefusal({ categories: [{ name: 'VIP', priceCents: 1, rows: ['A'], junk: 1 }] }, /categories\/0/, 'unknown field in a category')
    await schemaRefusal({ categories: Array.from({ length: 21 }, (_, i) => ({ name: `C${i}`, priceCents: 1, rows: ['A'] })) }, /categories/, '21 categories')
    await schemaRefusal({ seating: { labels: ['L1'], rowPreference: ['L'] } }, /seating/, 'rowPreference with labels')
    await schemaRefusal({ seating: { totalSeats: 20, rowPreference: ['A', 'A'] } }, /rowPreference/, 'duplicate rows in rowPreference')
    t.equal(await app.models.Show.countDocuments(), before, 'no show was made')
    t.equal(await app.models.Seat.countDocuments(), seatsBefore, 'no seat was made')
  })

  t.test('a show stored before categories keeps working: all STANDARD at the show\'s price', async (t) => {
    const show = await createShow(app, { priceCents: 700, seating: { totalSeats: 10, seatsPerRow: 5 } })
    // As an older version stored it: no categories on the show, no category or price on its seats.
    await app.models.Show.collection.updateOne({ _id: new Types.ObjectId(show.id) }, { $unset: { categories: '', rowPreference: '' } })
    await app.models.Seat.collection.updateMany({ showId: new Types.ObjectId(show.id) }, { $unset: { category: '', priceCents: '' } })
    const read = json<Show>(await app.inject({ method: 'GET', url: `/api/shows/${show.id}` }))
    t.same(read.categories, [{ name: 'STANDARD', priceCents: 700, totalSeats: 10, availableSeats: 10 }])
    const map = await seatMap(app, show.id) as SeatMap
    t.ok(map.seats.every((s) => s.category === 'STANDARD' && s.priceCents === 700), 'the map: STANDARD at 700')
    const named = await holdOk(app, alice.authorization, show.id, ['A1'])
    t.same(named.seats.map((s) => [s.category, s.priceCents]), [['STANDARD', 700]])
    const best = json<Booking>(await hold(app, alice.authorization, show.id, { quantity: 2, category: 'STANDARD' }))
    // Row A has A2..A5 free: A3A4 is nearest the middle but would strand A2 and A5; A2A3 leaves A4A5.
    t.same(best.seats.map((s) => s.label), ['A2', 'A3'], 'best available works on it')
    t.equal(best.totalPriceCents, 1400)
  })

  t.test('best available: rows by rowPreference, middle first, category, all the seats priced', async (t) => {
    const show = json<Show>(await post('/api/admin/shows', { name: 'Gala', type: 'EVENT', startTime: inFuture(DAY), venue: 'Hall', ...CATEGORISED }))
    const res = await hold(app, alice.authorization, show.id, { quantity: 4 })
    t.equal(res.statusCode, 201)
    const first = json<Booking>(res)
    t.same(first.seats.map((s) => s.label), ['C3', 'C4', 'C5', 'C6'], 'row C first (rowPreference), the middle four')
    t.equal(first.totalPriceCents, 4 * 1800)
    t.same(json<Booking>(await hold(app, bob.authorization, show.id, { quantity: 2, category: 'STANDARD' })).seats.map((s) => s.label), ['B4', 'B5'], 'STANDARD: the preferred rows C and D have none; B is next')
    t.same(json<Booking>(await hold(app, bob.authorization, show.id, { quantity: 2, category: 'ACCESSIBLE' })).seats.map((s) => s.label), ['A1', 'A2'])
    // C now has C1 C2 | C7 C8 free; 3 together do not fit in C: D's middle.
    t.same(json<Booking>(await hold(app, bob.authorization, show.id, { quantity: 3, category: 'PREMIUM', adjacent: true })).seats.map((s) => s.label), ['D3', 'D4', 'D5'])
    // Not adjacent: the best PREMIUM seats by the same order, anywhere (C's free seats nearest its middle first).
    const scattered = json<Booking>(await hold(app, bob.authorization, show.id, { quantity: 3, category: 'PREMIUM', adjacent: false }))
    t.same(scattered.seats.map((s) => s.label), ['C1', 'C2', 'C7'], 'C2 and C7 nearest C\'s middle, then C1 before C8')
    t.ok(scattered.seats.every((s) => s.category === 'PREMIUM' && s.priceCents === 1800))
    const statuses = await statusByLabel(app, show.id)
    for (const b of [first, scattered]) for (const s of b.seats) t.equal(statuses[s.label], 'HELD', `${s.label} is held`)
  })

  t.test('a label-seated show: categories by label, best available by position', async (t) => {
    const show = json<Show>(await post('/api/admin/shows', {
      name: 'Night bus', type: 'BUS', startTime: inFuture(DAY), priceCents: 3000,
      seating: { labels: ['L1', 'L2', 'L3', 'L4', 'U1', 'U2', 'U3', 'U4'] },
      categories: [{ name: 'LOWER', priceCents: 4500, labels: ['L1', 'L2', 'L3', 'L4'] }]
    }))
    t.equal(show.venue, null)
    t.same(show.categories.map((c) => [c.name, c.priceCents, c.totalSeats]), [['LOWER', 4500, 4], ['STANDARD', 3000, 4]])
    await holdOk(app, alice.authorization, show.id, ['L2'])
    // L1 alone before L2, L3L4 after it: two together is L3L4 (positions, earliest first).
    const lower = json<Booking>(await hold(app, bob.authorization, show.id, { quantity: 2, category: 'LOWER' }))
    t.same(lower.seats.map((s) => [s.label, s.priceCents]), [['L3', 4500], ['L4', 4500]])
    const upper = json<Booking>(await hold(app, bob.authorization, show.id, { quantity: 2 }))
    t.same(upper.seats.map((s) => s.label), ['U1', 'U2'], 'any category: the first two free together by position (L1 is alone)')
    t.equal(upper.totalPriceCents, 6000)
  })

  t.test('best available refusals: the contract\'s bodies; nothing held', async (t) => {
    const show = json<Show>(await post('/api/admin/shows', { name: 'Tiny', type: 'EVENT', startTime: inFuture(DAY), priceCents: 100, seating: { totalSeats: 6, seatsPerRow: 3 }, categories: [{ name: 'BOX', priceCents: 500, labels: ['A1'] }] }))
    const unknown = await hold(app, alice.authorization, show.id, { quantity: 1, category: 'BALCONY' })
    expectError(t, unknown, 400, 'UNKNOWN_CATEGORY')
    t.same(body(unknown), { statusCode: 400, code: 'UNKNOWN_CATEGORY', error: 'Bad Request', message: 'the show has no category BALCONY; it has BOX, STANDARD', details: { category: 'BALCONY', categories: ['BOX', 'STANDARD'] } })
    const tooMany = await hold(app, alice.authorization, show.id, { quantity: 2, category: 'BOX' })
    expectError(t, tooMany, 409, 'SEATS_UNAVAILABLE')
    t.same(body(tooMany), { statusCode: 409, code: 'SEATS_UNAVAILABLE', error: 'Conflict', message: '2 adjacent BOX seats are not free (1 free)', details: { available: 1 } })
    const notTogether = await hold(app, alice.authorization, show.id, { quantity: 4 })
    t.same(body(notTogether), { statusCode: 409, code: 'SEATS_UNAVAILABLE', error: 'Conflict', message: '4 adjacent seats are not free (6 free)', details: { available: 6 } }, 'rows of 3: never 4 together')
    t.equal(json<Booking>(await hold(app, alice.authorization, show.id, { quantity: 4, adjacent: false })).seats.length, 4, 'apart, they fit')
    const none = await hold(app, bob.authorization, show.id, { quantity: 3, adjacent: false })
    t.same(body(none), { statusCode: 409, code: 'SEATS_UNAVAILABLE', error: 'Conflict', message: '3 seats are not free (2 free)', details: { available: 2 } })
    const field = async (payload: Record<string, unknown>, name: RegExp, what: string) => {
      const b = expectValidationError(t, await hold(app, bob.authorization, show.id, payload), name, what)
      t.match(b.details, { field: name }, `${what}: details.field`)
    }
    await field({ quantity: 0 }, /quantity/, 'quantity 0')
    await field({ quantity: 7 }, /quantity/, 'quantity above MAX_SEATS_PER_BOOKING')
    await field({ quantity: 1.5 }, /quantity/, 'quantity not an integer')
    await field({ quantity: '2' }, /quantity/, 'quantity as a string')
    await field({ quantity: 1, category: 'box' }, /category/, 'category in lower case')
    await field({ quantity: 1, adjacent: 'yes' }, /adjacent/, 'adjacent not a boolean')
    expectError(t, await hold(app, bob.authorization, show.id, { quantity: 1, seatLabels: ['A1'] }), 400, 'VALIDATION_ERROR', 'quantity and seatLabels together')
    expectError(t, await hold(app, bob.authorization, show.id, { category: 'BOX' }), 400, 'VALIDATION_ERROR', 'category without quantity')
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 2, HELD: 4, BOOKED: 0 }, 'only the one successful hold holds seats')
  })

  /**
   * Makes seat claims lose, as when holds on other instances (whose served maps this one's does
   * not show yet) keep taking the chosen seats first: `lose(n, bookingId)` says whether the n-th
   * claim (for that booking) loses, and may change the seats first. Counts the claims sent and the
   * seat map reads.
   */
  const claimsLosing = (t: { teardown: (fn: () => void) => void }, lose: (n: number, bookingId: string) => boolean | Promise<boolean>) => {
    // Time budgets out of the way: the counts below are of tries, whatever the machine's speed.
    const limits = { ...bestAvailableLimits }
    Object.assign(bestAvailableLimits, { budgetMs: 60_000, deadlineMs: 60_000, finalBudgetMs: 60_000 })
    const seats = app.models.Seat.collection as unknown as Record<string, (...args: unknown[]) => unknown>
    const claim = seats.findOneAndUpdate.bind(seats)
    const find = seats.find.bind(seats)
    const sent = { claims: 0, reads: 0, readsAtFinal: -1 }
    seats.findOneAndUpdate = async (...args: unknown[]) => {
      const filter = args[0] as { status?: unknown }
      if (filter.status !== 'AVAILABLE') return await claim(...args)
      if (++sent.claims === TRIES + 1) sent.readsAtFinal = sent.reads
      return await lose(sent.claims, String((args[1] as { $set: { bookingId: unknown } }).$set.bookingId)) ? null : await claim(...args)
    }
    seats.find = (...args: unknown[]) => {
      if (String((args[1] as { comment?: unknown } | undefined)?.comment).startsWith('seat map read')) sent.reads++
      return find(...args)
    }
    const restore = () => {
      seats.findOneAndUpdate = claim
      seats.find = find
      Object.assign(bestAvailableLimits, limits)
    }
    t.teardown(restore)
    return Object.assign(sent, { restore })
  }
  /**
   * The served map shows every seat taken (so best available reads afresh), and each fresh read
   * is passed through `as` (to say when it was begun and observed); counts the fresh reads.
   */
  const freshReadsAs = (t: { teardown: (fn: () => void) => void }, as: (real: SeatSnapshot) => SeatSnapshot) => {
    const seatMaps = app.services.seatMaps
    const { seats, freshSeats } = seatMaps
    const reads = { fresh: 0 }
    seatMaps.seats = async (showId) => {
      const real = await seats(showId)
      return { ...real, seats: real.seats.map((seat) => ({ ...seat, status: 'HELD' as const })) }
    }
    seatMaps.freshSeats = async (showId, since) => {
      reads.fresh++
      return as(await freshSeats(showId, since))
    }
    t.teardown(() => { Object.assign(seatMaps, { seats, freshSeats }) })
    return reads
  }
  // The tries from the served map, then those from fresh reads.
  const TRIES = bestAvailableLimits.tries
  const FINAL_TRIES = bestAvailableLimits.finalTries

  t.test('best available whose choices keep losing races while seats are free: chosen again from fresh reads, then held (no 409 with seats free)', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 20, seatsPerRow: 10 } })
    await seatMap(app, show.id)
    // More losses than the tries from the served map: a CI run answered 409 with 162 seats free this way.
    const sent = claimsLosing(t, (n) => n < TRIES + FINAL_TRIES)
    const res = await hold(app, alice.authorization, show.id, { quantity: 2 })
    t.equal(res.statusCode, 201, `held after ${sent.claims - 2} lost races (${res.body.slice(0, 120)})`)
    t.equal(json<Booking>(res).seats.length, 2)
    // Claims TRIES + 1 … TRIES + FINAL_TRIES: all but the last lose, the last holds.
    t.ok(sent.reads - sent.readsAtFinal >= FINAL_TRIES - 1, `each choice after the tries came from a fresh read (${sent.reads - sent.readsAtFinal} reads for the last ${FINAL_TRIES - 1})`)
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 18, HELD: 2, BOOKED: 0 }, 'the two seats, and only they, are held')
  })

  t.test('best available whose every choice loses, seats free: 503 OVERLOADED (retry) after a bounded number of claims; nothing held; a retry holds', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 20, seatsPerRow: 10 } })
    const sent = claimsLosing(t, () => true)
    const res = await hold(app, alice.authorization, show.id, { quantity: 2 })
    expectError(t, res, 503, 'OVERLOADED')
    t.match(body(res), { message: '2 adjacent seats are free, but other holds kept taking them first; retry', details: { available: 20 } })
    t.equal(res.headers['retry-after'], '1')
    t.equal(sent.claims, TRIES + FINAL_TRIES, 'the request gave up after its tries and its tries from fresh reads')
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'nothing held')
    sent.restore()
    t.equal(json<Booking>(await hold(app, alice.authorization, show.id, { quantity: 2 })).seats.length, 2, 'a retry holds')
  })

  t.test('best available whose last lost race took the last seats: 409 from a read after it, not 503', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 20, seatsPerRow: 10 } })
    const sellOut = async () => {
      await app.models.Seat.collection.updateMany({ showId: new Types.ObjectId(show.id), status: 'AVAILABLE' },
        { $set: { status: 'HELD', bookingId: new Types.ObjectId(), heldUntil: new Date(Date.now() + 60_000) } })
    }
    const sent = claimsLosing(t, async (n) => {
      if (n === TRIES + FINAL_TRIES) await sellOut()
      return true
    })
    const res = await hold(app, alice.authorization, show.id, { quantity: 2 })
    t.equal(sent.claims, TRIES + FINAL_TRIES, 'the show sold out with the last claim the request could make')
    expectError(t, res, 409, 'SEATS_UNAVAILABLE')
    t.match(body(res), { message: '2 adjacent seats are not free (0 free)', details: { available: 0 } })
  })

  t.test('best available: a seat another request lost after a fresh read was observed, and freed here since, is not taken for taken (no 409)', async (t) => {
    // A row of two, A2 in a category of its own. Bob's one BOX seat loses its first race (noted:
    // every request here then takes A2 as taken in reads observed before that moment), then his
    // next try holds it, and he cancels: A2 is free again.
    const show = json<Show>(await post('/api/admin/shows', { name: 'Pair', type: 'EVENT', startTime: inFuture(DAY), priceCents: 100, seating: { totalSeats: 2, seatsPerRow: 2 }, categories: [{ name: 'BOX', priceCents: 500, labels: ['A2'] }] }))
    await seatMap(app, show.id)
    let lostAt = 0
    const sent = claimsLosing(t, (n) => {
      // The loss is noted when this answer is back: at this moment or later.
      if (n === 1) lostAt = Date.now()
      return n === 1
    })
    const bobs = json<Booking>(await hold(app, bob.authorization, show.id, { quantity: 1, category: 'BOX' }))
    t.equal(sent.claims, 2, 'Bob\'s first claim lost, his second held A2')
    t.equal((await cancel(app, bob.authorization, bobs.id)).statusCode, 200)
    // Alice's served map shows nothing free (so she reads afresh), and her fresh read was observed
    // just before Bob's loss, as a read in flight during it would be: it shows A2 free but lost
    // since. A2 was freed here after that loss: a 409 "2 adjacent seats are not free" is wrong.
    const reads = freshReadsAs(t, (real) => ({ ...real, readAt: lostAt - 1, observedAt: lostAt - 1 }))
    const res = await hold(app, alice.authorization, show.id, { quantity: 2 })
    t.equal(res.statusCode, 201, `Alice holds the pair (${res.body.slice(0, 100)})`)
    t.equal(reads.fresh, 1, 'from that one fresh read')
  })

  t.test('best available: a race lost before the database read the seats is in that read (a read begun earlier but observed later does not leave the seat out)', async (t) => {
    // Bob's one BOX seat (A2) loses every race (a hold elsewhere has it in his view), then the
    // seat is free when Alice's fresh read is observed: that read began before Bob's losses, but
    // the database read the seats after them, so A2 is free in it, not taken.
    const show = json<Show>(await post('/api/admin/shows', { name: 'Pair 2', type: 'EVENT', startTime: inFuture(DAY), priceCents: 100, seating: { totalSeats: 2, seatsPerRow: 2 }, categories: [{ name: 'BOX', priceCents: 500, labels: ['A2'] }] }))
    await seatMap(app, show.id)
    const before = Date.now() - 1
    let losing = true
    const sent = claimsLosing(t, () => losing)
    expectError(t, await hold(app, bob.authorization, show.id, { quantity: 1, category: 'BOX' }), 503, 'OVERLOADED')
    t.ok(sent.claims > 0)
    losing = false
    const reads = freshReadsAs(t, (real) => ({ ...real, readAt: before, observedAt: Date.now() }))
    const res = await hold(app, alice.authorization, show.id, { quantity: 2 })
    t.equal(res.statusCode, 201, `Alice holds the pair (${res.body.slice(0, 100)})`)
    t.equal(reads.fresh, 1, 'from that one fresh read')
  })

  t.test('best available: at its last look, the only suitable seats being claimed here by another request are waited for; they sell the show out: 409, not 503', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 2, seatsPerRow: 2 } })
    await seatMap(app, show.id)
    let alices: string | undefined
    let aliceLosses = 0
    let bobsHold: Promise<{ statusCode: number }> | undefined
    let bobClaiming: () => void = () => {}
    const bobIsClaiming = new Promise<void>((resolve) => { bobClaiming = resolve })
    claimsLosing(t, async (_n, booking) => {
      alices ??= booking
      if (booking === alices) {
        // Alice's claims all lose; with her last loss, Bob's hold of the pair is on its way.
        if (++aliceLosses === lastLoss) {
          bobsHold = hold(app, bob.authorization, show.id, { quantity: 2 })
          await bobIsClaiming
        }
        return true
      }
      // Bob's claims are slow (a loaded database), and win.
      bobClaiming()
      await new Promise((resolve) => setTimeout(resolve, 200))
      return false
    })
    // No time budget for the tries (so without the last look's own wait, claims here are raced
    // at once): Alice's tries end after the sure ones, then the final ones.
    bestAvailableLimits.budgetMs = 0
    const lastLoss = bestAvailableLimits.sureTries + bestAvailableLimits.finalTries
    const res = await hold(app, alice.authorization, show.id, { quantity: 2 })
    t.equal(aliceLosses, lastLoss, 'Alice lost every race she ran')
    t.equal((await bobsHold)?.statusCode, 201, 'Bob holds the pair')
    expectError(t, res, 409, 'SEATS_UNAVAILABLE', 'Alice: the show sold out while she looked')
  })

  t.test('best available answered 503 with an Idempotency-Key: a repeat runs afresh and leaves no FAILED booking', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 20, seatsPerRow: 10 } })
    const key = { 'idempotency-key': 'contended-1' }
    const sent = claimsLosing(t, () => true)
    expectError(t, await hold(app, bob.authorization, show.id, { quantity: 2 }, key), 503, 'OVERLOADED')
    sent.restore()
    const again = await hold(app, bob.authorization, show.id, { quantity: 2 }, key)
    t.equal(again.statusCode, 201, 'the repeat holds')
    const bookings = await app.models.Booking.find({ showId: show.id, userId: bob.id }).lean()
    t.same(bookings.map((b) => [b.status, b.seats.length]), [['PENDING', 2]], 'one booking, the repeat\'s: no FAILED ABANDONED fence for an attempt that wrote nothing')
    t.same(json(await hold(app, bob.authorization, show.id, { quantity: 2 }, key)), json(again), 'a further repeat answers the same booking')
  })

  t.test('best available with an Idempotency-Key: a repeat answers the seats first chosen', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 20, seatsPerRow: 10 } })
    const key = { 'idempotency-key': 'best-1' }
    const first = await hold(app, alice.authorization, show.id, { quantity: 2 }, key)
    t.equal(first.statusCode, 201)
    // Someone else takes seats meanwhile: the repeat must not choose again.
    await holdOk(app, bob.authorization, show.id, ['B5', 'B6'])
    const again = await hold(app, alice.authorization, show.id, { quantity: 2, adjacent: true }, key)
    t.equal(again.statusCode, 201)
    t.same(json(again), json(first), 'the same booking, the same seats (adjacent: true is the default spelled out)')
    const other = await hold(app, alice.authorization, show.id, { quantity: 3 }, key)
    expectError(t, other, 422, 'IDEMPOTENCY_KEY_REUSED', 'same key, another quantity')
    t.equal(await app.models.Booking.countDocuments({ showId: show.id, userId: alice.id }), 1, 'one booking')
  })

  t.test('extend: expiresAt = now + holdSeconds, extensions + 1, seats held as long; the expiry job moved', async (t) => {
    const show = await createShow(app, { holdSeconds: 60 })
    const booking = await holdOk(app, alice.authorization, show.id, ['A1', 'A2'])
    const before = Date.now()
    const res = await extend(alice.authorization, booking.id)
    t.equal(res.statusCode, 200)
    const extended = json<Booking>(res)
    t.match(extended, { id: booking.id, status: 'PENDING', extensions: 1, seats: booking.seats, totalPriceCents: booking.totalPriceCents })
    const expiresAt = Date.parse(extended.expiresAt)
    t.ok(expiresAt >= before + 60_000 && expiresAt <= Date.now() + 60_000, `expiresAt = now + 60 s (${extended.expiresAt})`)
    const seats = await app.models.Seat.find({ bookingId: booking.id }).lean()
    t.same(seats.map((s) => [s.status, s.heldUntil?.toISOString()]), [['HELD', extended.expiresAt], ['HELD', extended.expiresAt]], 'the seats are held until the new expiresAt')
    const jobs = await app.db.collection('agendaJobs').find({ name: { $in: EXPIRE_HOLD_NAMES }, 'data.bookingId': booking.id }).toArray()
    t.ok(jobs.some((j) => (j.nextRunAt as Date | null)?.toISOString() === extended.expiresAt), 'expire-hold is scheduled for the new expiresAt')
    t.same(json(await app.inject({ method: 'GET', url: `/api/bookings/${booking.id}`, headers: { authorization: alice.authorization } })), extended)

    t.equal((await extend(alice.authorization, booking.id)).statusCode, 200, 'a second extension')
    const limit = await extend(alice.authorization, booking.id)
    expectError(t, limit, 409, 'EXTENSION_LIMIT')
    t.same(body(limit), { statusCode: 409, code: 'EXTENSION_LIMIT', error: 'Conflict', message: 'the hold was already extended 2 times', details: { extensions: 2, max: 2 } })
    expectError(t, await extend(bob.authorization, booking.id), 404, 'BOOKING_NOT_FOUND', 'someone else\'s booking')
    expectValidationError(t, await extend(alice.authorization, 'nope'), /id/, 'malformed id')
    expectError(t, await app.inject({ method: 'POST', url: `/api/bookings/${booking.id}/extend` }), 401, 'UNAUTHORIZED', 'no token')
  })

  t.test('extend refusals: HOLD_EXPIRED, INVALID_STATE; nothing changes', async (t) => {
    const show = await createShow(app)
    const lapsed = await holdOk(app, alice.authorization, show.id, ['A1'])
    await app.models.Booking.updateOne({ _id: lapsed.id }, { $set: { expiresAt: new Date(Date.now() - 1000) } })
    const expired = await extend(alice.authorization, lapsed.id)
    t.same(body(expired), { statusCode: 409, code: 'HOLD_EXPIRED', error: 'Conflict', message: 'the hold expired before it was extended; the booking has failed' })
    t.match(json<Booking>(await app.inject({ method: 'GET', url: `/api/bookings/${lapsed.id}`, headers: { authorization: alice.authorization } })), { status: 'FAILED', failureReason: 'EXPIRED', extensions: 0 })
    t.equal((await statusByLabel(app, show.id)).A1, 'AVAILABLE', 'its seat is free')
    t.same(body(await extend(alice.authorization, lapsed.id)), body(expired), 'a FAILED booking: HOLD_EXPIRED again')

    const confirmed = await holdOk(app, alice.authorization, show.id, ['A2'])
    t.equal((await confirm(app, alice.authorization, confirmed.id)).statusCode, 200)
    t.same(body(await extend(alice.authorization, confirmed.id)), { statusCode: 409, code: 'INVALID_STATE', error: 'Conflict', message: 'a confirmed booking cannot be extended' })
    const cancelled = await holdOk(app, alice.authorization, show.id, ['A3'])
    t.equal((await cancel(app, alice.authorization, cancelled.id)).statusCode, 200)
    t.same(body(await extend(alice.authorization, cancelled.id)), { statusCode: 409, code: 'INVALID_STATE', error: 'Conflict', message: 'a cancelled booking cannot be extended' })
    t.match(json<Booking>(await app.inject({ method: 'GET', url: `/api/bookings/${confirmed.id}`, headers: { authorization: alice.authorization } })), { status: 'CONFIRMED', extensions: 0 })
    t.same(await statusByLabel(app, show.id).then((s) => [s.A2, s.A3]), ['BOOKED', 'AVAILABLE'])
  })

  t.test('MAX_HOLD_EXTENSIONS=0 refuses every extension; a bad setting stops start-up', async (t) => {
    const own = await buildTestApp(t, { MAX_HOLD_EXTENSIONS: '0' })
    const carol = await signUp(own, 'carol')
    const show = await createShow(own)
    const booking = await holdOk(own, carol.authorization, show.id, ['A1'])
    const res = await own.inject({ method: 'POST', url: `/api/bookings/${booking.id}/extend`, headers: { authorization: carol.authorization } })
    t.same(body(res), { statusCode: 409, code: 'EXTENSION_LIMIT', error: 'Conflict', message: 'the hold was already extended 0 times', details: { extensions: 0, max: 0 } })
    const { loadConfig } = await import('../../src/config.js')
    t.equal(loadConfig({}).maxHoldExtensions, 2, 'default 2')
    t.throws(() => loadConfig({ MAX_HOLD_EXTENSIONS: '-1' }), /MAX_HOLD_EXTENSIONS/)
    t.throws(() => loadConfig({ MAX_HOLD_EXTENSIONS: 'lots' }), /MAX_HOLD_EXTENSIONS/)
  })
})
