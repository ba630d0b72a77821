// API.md § Bookings: hold, list, get, confirm, cancel, Idempotency-Key.
import t from 'tap'
import { adminAuth, buildTestApp, cancel, confirm, createShow, getBooking, hold, holdOk, json, seatMap, signUp, startShow, statusByLabel, waitFor } from '../helper.js'
import { expectError, expectValidationError, MISSING_ID, type Booking, type Page } from './contract.js'

t.test('bookings', async (t) => {
  // A small cap so "more than MAX_SEATS_PER_BOOKING" is cheap to reach.
  const app = await buildTestApp(t, { MAX_SEATS_PER_BOOKING: '3' })
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob')

  t.test('hold by seatLabels: 201 PENDING with seats, price and expiry', async (t) => {
    const show = await createShow(app, { priceCents: 1250, holdSeconds: 60 })
    const before = Date.now()
    const res = await hold(app, alice.authorization, show.id, { seatLabels: ['A2', 'A1'] })
    const after = Date.now()
    t.equal(res.statusCode, 201)
    const booking = json<Booking>(res)
    t.match(booking, { showId: show.id, userId: alice.id, status: 'PENDING', totalPriceCents: 2500, confirmedAt: null, cancelledAt: null, failureReason: null })
    t.match(booking.id, /^[0-9a-f]{24}$/)
    t.same(booking.seats.map((s) => s.label).sort(), ['A1', 'A2'])
    t.same(Object.keys(booking).sort(), ['cancelledAt', 'confirmedAt', 'createdAt', 'expiresAt', 'extensions', 'failureReason', 'id', 'seats', 'show', 'showId', 'status', 'totalPriceCents', 'userId'])
    t.same(booking.show, { name: show.name, type: show.type, venue: show.venue, startTime: show.startTime }, 'the show summary (API.md: booking.show)')
    const expiresAt = Date.parse(booking.expiresAt)
    t.ok(expiresAt >= before + 60_000 - 1000 && expiresAt <= after + 60_000 + 1000, `expiresAt ≈ now + holdSeconds (${booking.expiresAt})`)
    t.ok(Math.abs(Date.parse(booking.createdAt) - before) < 5000, 'createdAt is now')
    const map = await seatMap(app, show.id)
    const ids = Object.fromEntries(map.seats.map((s) => [s.label, s.id]))
    t.same(booking.seats.map((s) => s.id).sort(), [ids.A1, ids.A2].sort(), 'seat ids are the map\'s ids')
    t.same(map.counts, { AVAILABLE: 18, HELD: 2, BOOKED: 0 })
    t.match(await statusByLabel(app, show.id), { A1: 'HELD', A2: 'HELD', A3: 'AVAILABLE' })
    t.same(json(await getBooking(app, alice.authorization, booking.id)), booking, 'GET answers the same booking')
  })

  t.test('hold by seatIds', async (t) => {
    const show = await createShow(app, { priceCents: 300 })
    const map = await seatMap(app, show.id)
    const wanted = [map.seats[4], map.seats[12]]
    const res = await hold(app, alice.authorization, show.id, { seatIds: wanted.map((s) => s.id) })
    t.equal(res.statusCode, 201)
    const booking = json<Booking>(res)
    t.match(booking, { status: 'PENDING', totalPriceCents: 600 })
    t.same(booking.seats.map((s) => s.label).sort(), ['A5', 'B3'])
    t.match(await statusByLabel(app, show.id), { A5: 'HELD', B3: 'HELD' })
  })

  t.test('the show must exist and be bookable', async (t) => {
    expectError(t, await hold(app, alice.authorization, MISSING_ID, { seatLabels: ['A1'] }), 404, 'SHOW_NOT_FOUND')
    expectValidationError(t, await hold(app, alice.authorization, 'nope', { seatLabels: ['A1'] }), /id/, 'malformed show id')

    const cancelled = await createShow(app)
    t.equal((await app.inject({ method: 'POST', url: `/api/admin/shows/${cancelled.id}/cancel`, headers: await adminAuth(app) })).statusCode, 200)
    expectError(t, await hold(app, alice.authorization, cancelled.id, { seatLabels: ['A1'] }), 409, 'SHOW_NOT_BOOKABLE', 'cancelled show')

    const started = await createShow(app)
    await startShow(app, started.id)
    expectError(t, await hold(app, alice.authorization, started.id, { seatLabels: ['A1'] }), 409, 'SHOW_NOT_BOOKABLE', 'started show')
    t.same((await seatMap(app, started.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'nothing held')
  })

  t.test('400 UNKNOWN_SEATS names what is not a seat of this show', async (t) => {
    const show = await createShow(app)
    const other = await createShow(app)
    const byLabels = expectError(t, await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'Z99', 'a2'] }), 400, 'UNKNOWN_SEATS', 'unknown labels')
    t.same([...(byLabels.details?.seats as string[])].sort(), ['Z99', 'a2'], 'details.seats lists the unknown labels')
    const foreign = (await seatMap(app, other.id)).seats.slice(0, 2).map((s) => s.id)
    const own = (await seatMap(app, show.id)).seats[0].id
    const byIds = expectError(t, await hold(app, alice.authorization, show.id, { seatIds: [own, ...foreign] }), 400, 'UNKNOWN_SEATS', 'another show\'s seat ids')
    t.same([...(byIds.details?.seats as string[])].sort(), [...foreign].sort(), 'details.seats lists the foreign ids')
    const missing = expectError(t, await hold(app, alice.authorization, show.id, { seatIds: [MISSING_ID] }), 400, 'UNKNOWN_SEATS', 'ids of no seat')
    t.same(missing.details?.seats, [MISSING_ID])
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'nothing held on this show')
    t.same((await seatMap(app, other.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'nothing held on the other show')
  })

  t.test('409 SEATS_UNAVAILABLE: all or nothing, details.seats the taken labels', async (t) => {
    const show = await createShow(app)
    const first = await holdOk(app, alice.authorization, show.id, ['A2', 'A4'])
    const body = expectError(t, await hold(app, bob.authorization, show.id, { seatLabels: ['A1', 'A2', 'A3'] }), 409, 'SEATS_UNAVAILABLE')
    t.same(body.details?.seats, ['A2'], 'the taken label')
    t.match(await statusByLabel(app, show.id), { A1: 'AVAILABLE', A2: 'HELD', A3: 'AVAILABLE', A4: 'HELD' }, 'none of the free seats stayed held')
    const both = expectError(t, await hold(app, bob.authorization, show.id, { seatLabels: ['A4', 'A2'] }), 409, 'SEATS_UNAVAILABLE', 'every seat taken')
    t.same([...(both.details?.seats as string[])].sort(), ['A2', 'A4'])
    // booked seats are taken too
    t.equal((await confirm(app, alice.authorization, first.id)).statusCode, 200)
    const booked = expectError(t, await hold(app, bob.authorization, show.id, { seatLabels: ['A4'] }), 409, 'SEATS_UNAVAILABLE', 'a BOOKED seat')
    t.same(booked.details?.seats, ['A4'])
    // the holder cannot hold its own seat twice either
    expectError(t, await hold(app, alice.authorization, show.id, { seatLabels: ['A2'] }), 409, 'SEATS_UNAVAILABLE', 'own seat again')
    const mine = json<Page<Booking>>(await app.inject({ method: 'GET', url: '/api/bookings?limit=100', headers: { authorization: bob.authorization } }))
    t.notOk(mine.items.some((b) => b.showId === show.id), 'no booking was made for the refused holds')
  })

  t.test('request validation of a hold', async (t) => {
    const show = await createShow(app)
    const h = async (payload: Record<string, unknown>) => hold(app, alice.authorization, show.id, payload)
    expectValidationError(t, await h({ seatLabels: ['A1', 'A2', 'A3', 'A4'] }), /seatLabels/, 'more than MAX_SEATS_PER_BOOKING labels')
    const ids = (await seatMap(app, show.id)).seats.slice(0, 4).map((s) => s.id)
    expectValidationError(t, await h({ seatIds: ids }), /seatIds/, 'more than MAX_SEATS_PER_BOOKING ids')
    expectError(t, await h({ seatLabels: ['A1', 'A1'] }), 400, 'VALIDATION_ERROR', 'duplicate labels')
    expectError(t, await h({ seatIds: [ids[0], ids[0]] }), 400, 'VALIDATION_ERROR', 'duplicate ids')
    expectError(t, await h({ seatLabels: ['A1'], seatIds: [ids[1]] }), 400, 'VALIDATION_ERROR', 'both seatIds and seatLabels')
    expectError(t, await h({}), 400, 'VALIDATION_ERROR', 'neither')
    expectError(t, await h({ seatLabels: [] }), 400, 'VALIDATION_ERROR', 'empty list')
    expectError(t, await h({ seatIds: ['not-an-id'] }), 400, 'VALIDATION_ERROR', 'malformed seat id')
    expectError(t, await h({ seatLabels: [{ label: 'A1' }] }), 400, 'VALIDATION_ERROR', 'not a list of strings')
    expectError(t, await h({ seatLabels: ['x'.repeat(17)] }), 400, 'VALIDATION_ERROR', 'a label over 16 chars')
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'nothing held')
    t.equal((await h({ seatLabels: ['A1', 'A2', 'A3'] })).statusCode, 201, 'exactly MAX_SEATS_PER_BOOKING is allowed')
  })

  t.test('GET /api/bookings: own bookings, newest first, status filter', async (t) => {
    const carol = await signUp(app, 'carol')
    const dave = await signUp(app, 'dave')
    const show = await createShow(app)
    const b1 = await holdOk(app, carol.authorization, show.id, ['A1'])
    const b2 = await holdOk(app, carol.authorization, show.id, ['A2'])
    const d1 = await holdOk(app, dave.authorization, show.id, ['A3'])
    const b3 = await holdOk(app, carol.authorization, show.id, ['A4'])
    t.equal((await confirm(app, carol.authorization, b2.id)).statusCode, 200)
    t.equal((await cancel(app, carol.authorization, b3.id)).statusCode, 200)
    const list = async (qs = '', who = carol.authorization) => {
      const res = await app.inject({ method: 'GET', url: `/api/bookings${qs}`, headers: { authorization: who } })
      t.equal(res.statusCode, 200)
      return json<Page<Booking>>(res)
    }
    const all = await list()
    t.same(all.items.map((b) => b.id), [b3.id, b2.id, b1.id], 'newest first, another user\'s not included')
    t.match(all, { total: 3, limit: 20, offset: 0 })
    t.match(all.items, [{ status: 'CANCELLED' }, { status: 'CONFIRMED' }, { status: 'PENDING' }])
    t.same((await list('?status=CONFIRMED')).items.map((b) => b.id), [b2.id])
    t.same((await list('?status=PENDING')).items.map((b) => b.id), [b1.id])
    t.same(await list('?status=FAILED'), { items: [], total: 0, limit: 20, offset: 0 })
    t.same(await list('?limit=1&offset=1'), { items: [all.items[1]], total: 3, limit: 1, offset: 1 })
    t.same((await list('', dave.authorization)).items.map((b) => b.id), [d1.id])
    expectValidationError(t, await app.inject({ method: 'GET', url: '/api/bookings?status=DONE', headers: { authorization: carol.authorization } }), /status/, 'unknown status')
    expectValidationError(t, await app.inject({ method: 'GET', url: '/api/bookings?limit=101', headers: { authorization: carol.authorization } }), /limit/, 'limit 101')
  })

  t.test('GET /api/bookings/:id: own only', async (t) => {
    const show = await createShow(app)
    const booking = await holdOk(app, alice.authorization, show.id, ['B9'])
    const res = await getBooking(app, alice.authorization, booking.id)
    t.equal(res.statusCode, 200)
    t.same(json(res), booking)
    const theirs = expectError(t, await getBooking(app, bob.authorization, booking.id), 404, 'BOOKING_NOT_FOUND', 'another user\'s booking')
    const none = expectError(t, await getBooking(app, alice.authorization, MISSING_ID), 404, 'BOOKING_NOT_FOUND', 'no such booking')
    t.equal(theirs.message.replace(booking.id, 'ID'), none.message.replace(MISSING_ID, 'ID'), 'someone else\'s booking looks exactly like a missing one')
    expectValidationError(t, await getBooking(app, alice.authorization, 'nope'), /id/, 'malformed id')
    expectError(t, await confirm(app, bob.authorization, booking.id), 404, 'BOOKING_NOT_FOUND', 'confirm another user\'s booking')
    expectError(t, await cancel(app, bob.authorization, booking.id), 404, 'BOOKING_NOT_FOUND', 'cancel another user\'s booking')
    t.match(json(await getBooking(app, alice.authorization, booking.id)), { status: 'PENDING' }, 'their attempts changed nothing')
    t.match(await statusByLabel(app, show.id), { B9: 'HELD' })
  })

  t.test('confirm', async (t) => {
    const show = await createShow(app)
    const booking = await holdOk(app, alice.authorization, show.id, ['A1', 'A2'])
    const res = await confirm(app, alice.authorization, booking.id)
    t.equal(res.statusCode, 200)
    const confirmed = json<Booking>(res)
    t.match(confirmed, { id: booking.id, status: 'CONFIRMED', cancelledAt: null, failureReason: null, totalPriceCents: booking.totalPriceCents })
    t.ok(confirmed.confirmedAt !== null && Math.abs(Date.parse(confirmed.confirmedAt) - Date.now()) < 5000, 'confirmedAt is now')
    t.match(await statusByLabel(app, show.id), { A1: 'BOOKED', A2: 'BOOKED', A3: 'AVAILABLE' })
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 18, HELD: 0, BOOKED: 2 })

    const again = await confirm(app, alice.authorization, booking.id)
    t.equal(again.statusCode, 200, 'confirming a CONFIRMED booking answers 200 again')
    t.same(json(again), confirmed, 'with the same booking')

    const paid = await holdOk(app, alice.authorization, show.id, ['B1'])
    const withRef = await app.inject({ method: 'POST', url: `/api/bookings/${paid.id}/confirm`, headers: { authorization: alice.authorization }, payload: { paymentReference: 'pay_123' } })
    t.equal(withRef.statusCode, 200, 'a paymentReference is accepted')
    t.equal(json<Booking>(withRef).status, 'CONFIRMED')
    const bad = await holdOk(app, alice.authorization, show.id, ['B2'])
    expectValidationError(t, await app.inject({ method: 'POST', url: `/api/bookings/${bad.id}/confirm`, headers: { authorization: alice.authorization }, payload: { paymentReference: { $ne: null } } }), /paymentReference/, 'paymentReference not a string')

    const cancelled = await holdOk(app, alice.authorization, show.id, ['B3'])
    t.equal((await cancel(app, alice.authorization, cancelled.id)).statusCode, 200)
    expectError(t, await confirm(app, alice.authorization, cancelled.id), 409, 'INVALID_STATE', 'confirm a CANCELLED booking')
    t.match(json(await getBooking(app, alice.authorization, cancelled.id)), { status: 'CANCELLED' })
    t.match(await statusByLabel(app, show.id), { B3: 'AVAILABLE' })
    expectError(t, await confirm(app, alice.authorization, MISSING_ID), 404, 'BOOKING_NOT_FOUND')
    expectValidationError(t, await confirm(app, alice.authorization, 'nope'), /id/, 'malformed id')
  })

  t.test('cancel', async (t) => {
    const show = await createShow(app)
    const pending = await holdOk(app, alice.authorization, show.id, ['A1', 'A2'])
    const res = await cancel(app, alice.authorization, pending.id)
    t.equal(res.statusCode, 200)
    const cancelled = json<Booking>(res)
    t.match(cancelled, { id: pending.id, status: 'CANCELLED', confirmedAt: null })
    t.ok(cancelled.cancelledAt !== null, 'cancelledAt set')
    t.match(await statusByLabel(app, show.id), { A1: 'AVAILABLE', A2: 'AVAILABLE' }, 'PENDING cancelled: seats AVAILABLE')
    expectError(t, await cancel(app, alice.authorization, pending.id), 409, 'INVALID_STATE', 'cancel again')

    const confirmed = await holdOk(app, alice.authorization, show.id, ['A3'])
    t.equal((await confirm(app, alice.authorization, confirmed.id)).statusCode, 200)
    const c2 = await cancel(app, alice.authorization, confirmed.id)
    t.equal(c2.statusCode, 200)
    t.match(json(c2), { status: 'CANCELLED' })
    t.match(await statusByLabel(app, show.id), { A3: 'AVAILABLE' }, 'CONFIRMED cancelled: seats AVAILABLE')
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 })
    // freed seats can be held again
    t.equal((await hold(app, bob.authorization, show.id, { seatLabels: ['A1', 'A3'] })).statusCode, 201)
    expectError(t, await cancel(app, alice.authorization, MISSING_ID), 404, 'BOOKING_NOT_FOUND')
    expectValidationError(t, await cancel(app, alice.authorization, 'nope'), /id/, 'malformed id')
  })

  t.test('confirm after the show started: 409 SHOW_NOT_BOOKABLE, the booking cancelled, its seats AVAILABLE', async (t) => {
    const show = await createShow(app)
    const pending = await holdOk(app, alice.authorization, show.id, ['A1', 'A2'])
    const other = await holdOk(app, bob.authorization, show.id, ['A3'])
    await startShow(app, show.id)
    const res = await confirm(app, alice.authorization, pending.id)
    const body = expectError(t, res, 409, 'SHOW_NOT_BOOKABLE')
    t.same(body, { statusCode: 409, code: 'SHOW_NOT_BOOKABLE', error: 'Conflict', message: 'the show has started; the booking is cancelled and its seats freed' }, 'the full error body')
    const now = json<Booking>(await getBooking(app, alice.authorization, pending.id))
    t.match(now, { status: 'CANCELLED', confirmedAt: null, failureReason: null })
    t.ok(now.cancelledAt !== null, 'cancelledAt set')
    t.match(await statusByLabel(app, show.id), { A1: 'AVAILABLE', A2: 'AVAILABLE', A3: 'HELD' }, 'its seats free; another booking\'s untouched')
    t.same(await app.models.Seat.countDocuments({ bookingId: pending.id }), 0, 'no seat names the cancelled booking')
    const again = expectError(t, await confirm(app, alice.authorization, pending.id), 409, 'INVALID_STATE', 'confirming it again')
    t.same(again, { statusCode: 409, code: 'INVALID_STATE', error: 'Conflict', message: 'a cancelled booking cannot be confirmed' })
    t.match(json(await getBooking(app, bob.authorization, other.id)), { status: 'PENDING' }, 'the other hold is left to its own confirm or expiry')
  })

  t.test('confirm after the show was cancelled: 409 SHOW_NOT_BOOKABLE, the booking cancelled, its seats AVAILABLE', async (t) => {
    const show = await createShow(app)
    const pending = await holdOk(app, alice.authorization, show.id, ['A1'])
    // As if the admin's cancel ran while this hold was in flight: the show CANCELLED, the booking still PENDING.
    await app.models.Show.updateOne({ _id: show.id }, { $set: { status: 'CANCELLED' } })
    const body = expectError(t, await confirm(app, alice.authorization, pending.id), 409, 'SHOW_NOT_BOOKABLE')
    t.same(body, { statusCode: 409, code: 'SHOW_NOT_BOOKABLE', error: 'Conflict', message: 'the show was cancelled; the booking is cancelled and its seats freed' }, 'the full error body')
    t.match(json(await getBooking(app, alice.authorization, pending.id)), { status: 'CANCELLED' })
    t.match(await statusByLabel(app, show.id), { A1: 'AVAILABLE' })
  })

  t.test('a CONFIRMED booking stays confirmed after its show starts: confirming again answers 200', async (t) => {
    const show = await createShow(app)
    const booking = await holdOk(app, alice.authorization, show.id, ['A1'])
    const confirmed = json<Booking>(await confirm(app, alice.authorization, booking.id))
    await startShow(app, show.id)
    const again = await confirm(app, alice.authorization, booking.id)
    t.equal(again.statusCode, 200)
    t.same({ ...json<Booking>(again), show: confirmed.show }, confirmed, 'the same booking')
    t.match(await statusByLabel(app, show.id), { A1: 'BOOKED' })
  })

  t.test('booking.show on every answer, as the show is now', async (t) => {
    const ivy = await signUp(app, 'ivy')
    const first = await createShow(app, { name: 'Hamlet', type: 'EVENT', venue: 'Globe' })
    const second = await createShow(app, { name: 'Night coach', type: 'BUS', venue: 'Bay 9' })
    const summary = (s: Record<string, unknown>) => ({ name: s.name, type: s.type, venue: s.venue, startTime: s.startTime })
    const key = { 'idempotency-key': 'ivy-1' }
    const held = await hold(app, ivy.authorization, first.id, { seatLabels: ['A1'] }, key)
    t.same(json<Booking>(held).show, summary(first), 'hold')
    t.same(json<Booking>(await hold(app, ivy.authorization, first.id, { seatLabels: ['A1'] }, key)).show, summary(first), 'idempotent replay')
    const a = json<Booking>(held)
    const b = await holdOk(app, ivy.authorization, second.id, ['A1'])
    const c = await holdOk(app, ivy.authorization, first.id, ['A2'])
    t.same(b.show, summary(second), 'hold on another show')
    t.same(json<Booking>(await getBooking(app, ivy.authorization, a.id)).show, summary(first), 'get')
    t.same(json<Booking>(await confirm(app, ivy.authorization, a.id)).show, summary(first), 'confirm')
    t.same(json<Booking>(await confirm(app, ivy.authorization, a.id)).show, summary(first), 'confirm again')
    t.same(json<Booking>(await cancel(app, ivy.authorization, c.id)).show, summary(first), 'cancel')

    // A renamed show reads renamed in its bookings: the summary is the show as it is now.
    const admin = await adminAuth(app)
    const patched = await app.inject({ method: 'PATCH', url: `/api/admin/shows/${second.id}`, headers: admin, payload: { name: 'Sleeper coach', venue: 'Bay 1' } })
    t.equal(patched.statusCode, 200)
    const mine = json<Page<Booking>>(await app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: ivy.authorization } }))
    t.same(mine.items.map((x) => [x.id, x.show]), [
      [c.id, summary(first)],
      [b.id, summary(json(patched))],
      [a.id, summary(first)]
    ], 'the user\'s list: each booking with its own show')
    const perShow = json<Page<Booking>>(await app.inject({ method: 'GET', url: `/api/admin/shows/${first.id}/bookings`, headers: admin }))
    t.same(perShow.items.map((x) => [x.id, x.show]), [[c.id, summary(first)], [a.id, summary(first)]], 'the admin\'s per-show list')
  })

  t.test('cancel after the show started is 409 INVALID_STATE', async (t) => {
    const show = await createShow(app)
    const confirmed = await holdOk(app, alice.authorization, show.id, ['A1'])
    t.equal((await confirm(app, alice.authorization, confirmed.id)).statusCode, 200)
    const pending = await holdOk(app, alice.authorization, show.id, ['A2'])
    await startShow(app, show.id)
    expectError(t, await cancel(app, alice.authorization, confirmed.id), 409, 'INVALID_STATE', 'CONFIRMED booking of a started show')
    expectError(t, await cancel(app, alice.authorization, pending.id), 409, 'INVALID_STATE', 'PENDING booking of a started show')
    t.match(json(await getBooking(app, alice.authorization, confirmed.id)), { status: 'CONFIRMED' })
    t.match(await statusByLabel(app, show.id), { A1: 'BOOKED' })
  })

  t.test('every booking route needs a token', async (t) => {
    const show = await createShow(app)
    const booking = await holdOk(app, alice.authorization, show.id, ['A1'])
    const routes: Array<{ method: 'GET' | 'POST', url: string, payload?: Record<string, unknown> }> = [
      { method: 'POST', url: `/api/shows/${show.id}/bookings`, payload: { seatLabels: ['A2'] } },
      { method: 'GET', url: '/api/bookings' },
      { method: 'GET', url: `/api/bookings/${booking.id}` },
      { method: 'POST', url: `/api/bookings/${booking.id}/confirm` },
      { method: 'POST', url: `/api/bookings/${booking.id}/cancel` }
    ]
    for (const route of routes) {
      expectError(t, await app.inject(route), 401, 'UNAUTHORIZED', `${route.method} ${route.url} without a token`)
      expectError(t, await app.inject({ ...route, headers: { authorization: 'Bearer x.y.z' } }), 401, 'UNAUTHORIZED', `${route.method} ${route.url} with a junk token`)
    }
    t.match(await statusByLabel(app, show.id), { A1: 'HELD', A2: 'AVAILABLE' })
    t.match(json(await getBooking(app, alice.authorization, booking.id)), { status: 'PENDING' })
  })

  t.test('Idempotency-Key', async (t) => {
    const show = await createShow(app)
    const erin = await signUp(app, 'erin')
    const key = { 'idempotency-key': 'order-42' }
    const first = await hold(app, erin.authorization, show.id, { seatLabels: ['A1', 'A2'] }, key)
    t.equal(first.statusCode, 201)
    const repeat = await hold(app, erin.authorization, show.id, { seatLabels: ['A1', 'A2'] }, key)
    t.equal(repeat.statusCode, 201, 'the repeat answers the same status')
    t.same(json(repeat), json(first), 'and the identical body')
    const mine = async () => json<Page<Booking>>(await app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: erin.authorization } }))
    t.equal((await mine()).total, 1, 'one booking, not two')
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 18, HELD: 2, BOOKED: 0 })

    // A repeat after a confirm still gets the first answer (the PENDING hold), never a second booking.
    t.equal((await confirm(app, erin.authorization, json<Booking>(first).id)).statusCode, 200)
    const late = await hold(app, erin.authorization, show.id, { seatLabels: ['A1', 'A2'] }, key)
    t.equal(late.statusCode, 201)
    t.same(json(late), json(first))
    t.equal((await mine()).total, 1)

    const reused = expectError(t, await hold(app, erin.authorization, show.id, { seatLabels: ['A3'] }, key), 422, 'IDEMPOTENCY_KEY_REUSED', 'same key, different body')
    t.type(reused.message, 'string')
    const other = await createShow(app)
    expectError(t, await hold(app, erin.authorization, other.id, { seatLabels: ['A1', 'A2'] }, key), 422, 'IDEMPOTENCY_KEY_REUSED', 'same key and body, another show')
    t.equal((await mine()).total, 1)
    t.match(await statusByLabel(app, show.id), { A3: 'AVAILABLE' })

    // Keys belong to a user: another user's same key is a request of its own.
    const frank = await signUp(app, 'frank')
    const theirs = await hold(app, frank.authorization, show.id, { seatLabels: ['B1'] }, key)
    t.equal(theirs.statusCode, 201, 'another user may use the same key')
    t.not(json<Booking>(theirs).id, json<Booking>(first).id)

    expectError(t, await hold(app, erin.authorization, show.id, { seatLabels: ['B5'] }, { 'idempotency-key': 'k'.repeat(129) }), 400, 'VALIDATION_ERROR', 'a key over 128 chars')
    expectError(t, await hold(app, erin.authorization, show.id, { seatLabels: ['B5'] }, { 'idempotency-key': '' }), 400, 'VALIDATION_ERROR', 'an empty key')
    t.match(await statusByLabel(app, show.id), { B5: 'AVAILABLE' })
  })

  t.test('Idempotency-Key: a 409 answer is replayed too', async (t) => {
    const show = await createShow(app)
    const gina = await signUp(app, 'gina')
    const blocker = await holdOk(app, alice.authorization, show.id, ['A1'])
    const key = { 'idempotency-key': 'retry-me' }
    const first = await hold(app, gina.authorization, show.id, { seatLabels: ['A1'] }, key)
    const body = expectError(t, first, 409, 'SEATS_UNAVAILABLE', 'the first answer')
    // The seat frees; a fresh request would now succeed, but the repeat gets the first answer.
    t.equal((await cancel(app, alice.authorization, blocker.id)).statusCode, 200)
    const repeat = await hold(app, gina.authorization, show.id, { seatLabels: ['A1'] }, key)
    const replayed = expectError(t, repeat, 409, 'SEATS_UNAVAILABLE', 'the repeat')
    t.same(replayed, body, 'the identical error body')
    t.match(await statusByLabel(app, show.id), { A1: 'AVAILABLE' }, 'the repeat held nothing')
    const mine = json<Page<Booking>>(await app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: gina.authorization } }))
    t.equal(mine.total, 0)
    const fresh = await hold(app, gina.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'retry-me-2' })
    t.equal(fresh.statusCode, 201, 'a new key is a new request')
  })

  t.test('Idempotency-Key: concurrent repeats make one booking', async (t) => {
    const show = await createShow(app)
    const hank = await signUp(app, 'hank')
    const answers = await Promise.all(Array.from({ length: 10 }, async () =>
      hold(app, hank.authorization, show.id, { seatLabels: ['B1', 'B2'] }, { 'idempotency-key': 'burst' })))
    t.same(answers.map((r) => r.statusCode), Array(10).fill(201))
    t.equal(new Set(answers.map((r) => r.body)).size, 1, 'identical bodies')
    const mine = json<Page<Booking>>(await app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: hank.authorization } }))
    t.equal(mine.total, 1)
    t.match(await statusByLabel(app, show.id), { B1: 'HELD', B2: 'HELD' })
  })
})

t.test('bookings: hold expiry', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '1', SWEEP_SECONDS: '1' })
  const user = await signUp(app, 'late')

  t.test('confirm after expiry: 409 HOLD_EXPIRED, the booking FAILED / EXPIRED, seats AVAILABLE', async (t) => {
    const show = await createShow(app)
    const booking = await holdOk(app, user.authorization, show.id, ['A1', 'A2'])
    t.ok(Date.parse(booking.expiresAt) - Date.parse(booking.createdAt) <= 1500, 'the show took HOLD_SECONDS=1')
    await waitFor('the hold to pass its expiresAt', 10_000, async () => Date.now() > Date.parse(booking.expiresAt) ? true : undefined, 50)
    expectError(t, await confirm(app, user.authorization, booking.id), 409, 'HOLD_EXPIRED')
    t.match(json(await getBooking(app, user.authorization, booking.id)), { status: 'FAILED', failureReason: 'EXPIRED', confirmedAt: null })
    t.match(await statusByLabel(app, show.id), { A1: 'AVAILABLE', A2: 'AVAILABLE' })
    expectError(t, await confirm(app, user.authorization, booking.id), 409, 'HOLD_EXPIRED', 'confirming again')
    expectError(t, await cancel(app, user.authorization, booking.id), 409, 'INVALID_STATE', 'cancel a FAILED booking')
  })

  t.test('a hold that lapsed before its show started is expired, not cancelled: 409 HOLD_EXPIRED', async (t) => {
    const show = await createShow(app)
    const booking = await holdOk(app, user.authorization, show.id, ['A3'])
    await waitFor('the hold to pass its expiresAt', 10_000, async () => Date.now() > Date.parse(booking.expiresAt) ? true : undefined, 50)
    await startShow(app, show.id)
    const body = expectError(t, await confirm(app, user.authorization, booking.id), 409, 'HOLD_EXPIRED')
    t.same(body, { statusCode: 409, code: 'HOLD_EXPIRED', error: 'Conflict', message: 'the hold expired before it was confirmed; the booking has failed' })
    t.match(json(await getBooking(app, user.authorization, booking.id)), { status: 'FAILED', failureReason: 'EXPIRED', cancelledAt: null })
    t.match(await statusByLabel(app, show.id), { A3: 'AVAILABLE' })
  })

  t.test('an unconfirmed hold lapses by itself: FAILED / EXPIRED and seats AVAILABLE within a few seconds', async (t) => {
    const show = await createShow(app)
    const booking = await holdOk(app, user.authorization, show.id, ['B1'])
    const current = await waitFor('the hold to lapse', 6000, async () => {
      const now = json<Booking>(await getBooking(app, user.authorization, booking.id))
      return now.status !== 'PENDING' ? now : undefined
    }, 200)
    t.match(current, { status: 'FAILED', failureReason: 'EXPIRED' })
    t.match(await statusByLabel(app, show.id), { B1: 'AVAILABLE' })
    t.equal((await hold(app, user.authorization, show.id, { seatLabels: ['B1'] })).statusCode, 201, 'the seat can be held again')
  })
})
