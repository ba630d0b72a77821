// API.md § Admin: movies, shows (creation, listing, patch, cancel, bookings) and the role check.
import t from 'tap'
import { adminAuth, buildTestApp, cancel, confirm, createMovie, createShow, getBooking, holdOk, json, seatMap, signUp } from '../helper.js'
import { DAY, expectError, expectValidationError, inFuture, MISSING_ID, type Booking, type Movie, type Page, type SeatMap, type Show } from './contract.js'
import { trusted } from 'mongoose'

t.test('admin', async (t) => {
  // HOLD_SECONDS is the default hold of shows created without holdSeconds.
  const app = await buildTestApp(t, { HOLD_SECONDS: '45' })
  const admin = await adminAuth(app)
  const post = async (url: string, payload?: Record<string, unknown>) => app.inject({ method: 'POST', url, headers: admin, ...(payload !== undefined && { payload }) })
  const get = async (url: string) => app.inject({ method: 'GET', url, headers: admin })
  const showBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: 'Dune: Part Three', type: 'MOVIE', startTime: inFuture(DAY), venue: 'Screen 2', priceCents: 1250,
    seating: { totalSeats: 20, seatsPerRow: 10 }, ...overrides
  })

  t.test('POST /api/admin/movies', async (t) => {
    const res = await post('/api/admin/movies', { title: 'Dune', description: 'Spice.', durationMinutes: 155 })
    t.equal(res.statusCode, 201)
    const movie = json<Movie>(res)
    t.match(movie, { title: 'Dune', description: 'Spice.', durationMinutes: 155 })
    t.match(movie.id, /^[0-9a-f]{24}$/)
    t.ok(Number.isFinite(Date.parse(movie.createdAt)), 'createdAt is a time')
    const minimal = json<Movie>(await post('/api/admin/movies', { title: 'Only a title' }))
    t.match(minimal, { title: 'Only a title', description: null, durationMinutes: null })
    const fetched = await app.inject({ method: 'GET', url: `/api/movies/${movie.id}` })
    t.same(json(fetched), movie, 'the movie is in the catalogue')

    expectValidationError(t, await post('/api/admin/movies', { description: 'no title' }), /title/, 'missing title')
    expectValidationError(t, await post('/api/admin/movies', { title: '' }), /title/, 'empty title')
    expectValidationError(t, await post('/api/admin/movies', { title: 'X', durationMinutes: 0 }), /durationMinutes/, 'durationMinutes 0')
  })

  t.test('POST /api/admin/shows with totalSeats / seatsPerRow', async (t) => {
    const movie = await createMovie(app, { title: 'Dune' })
    const res = await post('/api/admin/shows', showBody({
      movieId: movie.id, description: 'IMAX', durationMinutes: 155, holdSeconds: 300,
      seating: { totalSeats: 270, seatsPerRow: 10 }
    }))
    t.equal(res.statusCode, 201)
    const show = json<Show>(res)
    t.match(show, {
      name: 'Dune: Part Three', type: 'MOVIE', venue: 'Screen 2', description: 'IMAX', movieId: movie.id,
      durationMinutes: 155, priceCents: 1250, holdSeconds: 300, status: 'SCHEDULED',
      totalSeats: 270, availableSeats: 270, heldSeats: 0, bookedSeats: 0
    })
    t.match(show.id, /^[0-9a-f]{24}$/)
    t.same(Object.keys(show).sort(), ['availableSeats', 'bookedSeats', 'categories', 'createdAt', 'description', 'durationMinutes', 'heldSeats', 'holdSeconds',
      'id', 'movieId', 'name', 'priceCents', 'startTime', 'status', 'totalSeats', 'type', 'venue'], 'exactly the fields of `show`')

    const map = await seatMap(app, show.id) as SeatMap
    t.equal(map.seats.length, 270)
    const labels = map.seats.map((s) => s.label)
    t.same(labels.slice(0, 11), ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'B1'], 'row by row, A1 … A10, then B1')
    t.equal(labels[250], 'Z1')
    t.same(labels.slice(259, 262), ['Z10', 'AA1', 'AA2'], 'rows past Z continue AA')
    t.equal(labels[269], 'AA10')
    t.match(map.seats[260], { label: 'AA1', row: 'AA', number: 1, status: 'AVAILABLE' })
    t.match(map.seats[9], { label: 'A10', row: 'A', number: 10 })
    t.equal(new Set(labels).size, 270, 'labels are unique')

    // seatsPerRow defaults to 10
    const dflt = json<Show>(await post('/api/admin/shows', showBody({ seating: { totalSeats: 25 } })))
    const dfltLabels = (await seatMap(app, dflt.id)).seats.map((s) => s.label)
    t.same([dfltLabels[9], dfltLabels[10], dfltLabels[24]], ['A10', 'B1', 'C5'])

    // 27 rows of 1 seat: the 27th row is AA
    const tall = json<Show>(await post('/api/admin/shows', showBody({ seating: { totalSeats: 28, seatsPerRow: 1 } })))
    t.same((await seatMap(app, tall.id)).seats.map((s) => s.label).slice(24), ['Y1', 'Z1', 'AA1', 'AB1'])
  })

  t.test('POST /api/admin/shows with labels', async (t) => {
    const res = await post('/api/admin/shows', showBody({ type: 'DOCTOR', seating: { labels: ['10:00', '10:15', '09:45', 'L1'] } }))
    t.equal(res.statusCode, 201)
    const show = json<Show>(res)
    t.match(show, { type: 'DOCTOR', totalSeats: 4, availableSeats: 4 })
    const map = await seatMap(app, show.id) as SeatMap
    t.same(map.seats.map((s) => ({ label: s.label, row: s.row, number: s.number })), [
      { label: '10:00', row: null, number: 1 },
      { label: '10:15', row: null, number: 2 },
      { label: '09:45', row: null, number: 3 },
      { label: 'L1', row: null, number: 4 }
    ], 'one seat per label, in the given order, row null, number the 1-based position')
    expectValidationError(t, await post('/api/admin/shows', showBody({ seating: { labels: ['A', 'A'] } })), /labels/, 'duplicate labels')
    expectValidationError(t, await post('/api/admin/shows', showBody({ seating: { labels: [] } })), /labels/, 'no labels')
    expectValidationError(t, await post('/api/admin/shows', showBody({ seating: { labels: ['x'.repeat(17)] } })), /labels/, 'label over 16 chars')
  })

  t.test('holdSeconds: the override and the HOLD_SECONDS default', async (t) => {
    t.equal(json<Show>(await post('/api/admin/shows', showBody({ holdSeconds: 30 }))).holdSeconds, 30)
    t.equal(json<Show>(await post('/api/admin/shows', showBody({ holdSeconds: 1800 }))).holdSeconds, 1800)
    t.equal(json<Show>(await post('/api/admin/shows', showBody())).holdSeconds, 45, 'HOLD_SECONDS when not given')
    expectValidationError(t, await post('/api/admin/shows', showBody({ holdSeconds: 29 })), /holdSeconds/, 'holdSeconds 29')
    expectValidationError(t, await post('/api/admin/shows', showBody({ holdSeconds: 1801 })), /holdSeconds/, 'holdSeconds 1801')
  })

  t.test('POST /api/admin/shows refuses what the contract refuses', async (t) => {
    const before = await app.models.Show.countDocuments()
    expectValidationError(t, await post('/api/admin/shows', showBody({ startTime: new Date(Date.now() - 60_000).toISOString() })), /startTime/, 'startTime in the past')
    expectValidationError(t, await post('/api/admin/shows', showBody({ startTime: 'tomorrow' })), /startTime/, 'startTime not a time')
    expectError(t, await post('/api/admin/shows', showBody({ seating: { totalSeats: 10, labels: ['A'] } })), 400, 'VALIDATION_ERROR', 'both seating forms')
    expectError(t, await post('/api/admin/shows', showBody({ seating: {} })), 400, 'VALIDATION_ERROR', 'neither seating form')
    expectValidationError(t, await post('/api/admin/shows', showBody({ seating: undefined })), /seating/, 'no seating')
    expectValidationError(t, await post('/api/admin/shows', showBody({ seating: { totalSeats: 5001 } })), /totalSeats/, 'totalSeats 5001')
    expectValidationError(t, await post('/api/admin/shows', showBody({ seating: { totalSeats: 0 } })), /totalSeats/, 'totalSeats 0')
    expectValidationError(t, await post('/api/admin/shows', showBody({ type: 'CONCERT' })), /type/, 'unknown type')
    expectValidationError(t, await post('/api/admin/shows', showBody({ name: undefined })), /name/, 'missing name')
    expectValidationError(t, await post('/api/admin/shows', showBody({ movieId: 'not-an-id' })), /movieId/, 'malformed movieId')
    expectError(t, await post('/api/admin/shows', showBody({ movieId: MISSING_ID })), 404, 'MOVIE_NOT_FOUND', 'unknown movieId')
    t.equal(await app.models.Show.countDocuments(), before, 'no show was made')
    const showIds = (await app.models.Show.find({}, { _id: 1 }).lean()).map((s) => s._id)
    t.equal(await app.models.Seat.countDocuments({ showId: trusted({ $nin: showIds }) }), 0, 'no seats without a show')

    const big = await post('/api/admin/shows', showBody({ seating: { totalSeats: 5000, seatsPerRow: 50 } }))
    t.equal(big.statusCode, 201, '5000 seats is allowed')
    t.equal(json<Show>(big).availableSeats, 5000)
  })

  t.test('GET /api/admin/shows lists every show with filters and pagination', async (t) => {
    const own = await buildTestApp(t)
    const auth = await adminAuth(own)
    const make = async (o: Record<string, unknown>) => createShow(own, o)
    const bus = await make({ type: 'BUS', startTime: inFuture(3 * DAY) })
    const event = await make({ type: 'EVENT', startTime: inFuture(2 * DAY) })
    const movie = await make({ type: 'MOVIE', startTime: inFuture(4 * DAY) })
    const past = await make({ type: 'MOVIE', startTime: inFuture(5 * DAY) })
    await own.models.Show.updateOne({ _id: past.id }, { $set: { startTime: new Date(Date.now() - DAY) } })
    const cancelled = await make({ type: 'BUS', startTime: inFuture(DAY) })
    t.equal((await own.inject({ method: 'POST', url: `/api/admin/shows/${cancelled.id}/cancel`, headers: auth })).statusCode, 200)
    const list = async (qs: string) => own.inject({ method: 'GET', url: `/api/admin/shows${qs}`, headers: auth })

    const all = json<Page<Show>>(await list(''))
    t.match(all, { total: 5, limit: 20, offset: 0 })
    t.same(all.items.map((s) => s.id), [past.id, cancelled.id, event.id, bus.id, movie.id], 'past and cancelled included, by start time')
    t.same(json<Page<Show>>(await list('?type=BUS')).items.map((s) => s.id), [cancelled.id, bus.id])
    const onlyCancelled = json<Page<Show>>(await list('?status=CANCELLED'))
    t.same(onlyCancelled.items.map((s) => [s.id, s.status]), [[cancelled.id, 'CANCELLED']])
    t.equal(onlyCancelled.total, 1)
    t.same(json<Page<Show>>(await list('?status=SCHEDULED&type=BUS')).items.map((s) => s.id), [bus.id])
    const page = json<Page<Show>>(await list('?limit=2&offset=1'))
    t.same(page, { items: all.items.slice(1, 3), total: 5, limit: 2, offset: 1 })
    t.same(json<Page<Show>>(await list('?offset=10')), { items: [], total: 5, limit: 20, offset: 10 })
    expectValidationError(t, await list('?limit=0'), /limit/, 'limit 0')
    expectValidationError(t, await list('?limit=101'), /limit/, 'limit 101')
    expectValidationError(t, await list('?offset=-1'), /offset/, 'offset -1')
    expectValidationError(t, await list('?status=DONE'), /status/, 'unknown status')
    expectValidationError(t, await list('?type=PLANE'), /type/, 'unknown type')
    t.equal((await list('?limit=100')).statusCode, 200, 'limit 100 is allowed')
  })

  t.test('GET /api/admin/shows/:id', async (t) => {
    const show = await createShow(app)
    const res = await get(`/api/admin/shows/${show.id}`)
    t.equal(res.statusCode, 200)
    t.same(json(res), show)
    expectError(t, await get(`/api/admin/shows/${MISSING_ID}`), 404, 'SHOW_NOT_FOUND')
    expectValidationError(t, await get('/api/admin/shows/nope'), /id/, 'malformed id')
  })

  t.test('PATCH /api/admin/shows/:id', async (t) => {
    const show = await createShow(app)
    const patch = async (id: string, payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: `/api/admin/shows/${id}`, headers: admin, payload })
    const startTime = new Date(Date.now() + 7 * DAY).toISOString()
    const res = await patch(show.id, { name: 'Renamed', venue: 'Screen 9', description: 'now in 3D', startTime })
    t.equal(res.statusCode, 200)
    t.match(json<Show>(res), { id: show.id, name: 'Renamed', venue: 'Screen 9', description: 'now in 3D', startTime, totalSeats: show.totalSeats, status: 'SCHEDULED' })
    t.match(json(await get(`/api/admin/shows/${show.id}`)), { name: 'Renamed', venue: 'Screen 9', startTime }, 'the change is stored')
    const partial = json<Show>(await patch(show.id, { name: 'Only the name' }))
    t.match(partial, { name: 'Only the name', venue: 'Screen 9' }, 'other fields untouched')

    expectError(t, await patch(MISSING_ID, { name: 'x' }), 404, 'SHOW_NOT_FOUND')
    expectValidationError(t, await patch(show.id, { startTime: new Date(Date.now() - DAY).toISOString() }), /startTime/, 'startTime in the past')
    expectValidationError(t, await patch(show.id, { type: 'BUS' }), /type/, 'a field PATCH does not change')
    expectError(t, await patch(show.id, {}), 400, 'VALIDATION_ERROR', 'empty patch')
    expectValidationError(t, await patch('nope', { name: 'x' }), /id/, 'malformed id')
    t.match(json(await get(`/api/admin/shows/${show.id}`)), { name: 'Only the name', type: 'MOVIE' }, 'refused patches changed nothing')
  })

  t.test('POST /api/admin/shows/:id/cancel cancels the show and its live bookings', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 10 } })
    const alice = await signUp(app, 'alice')
    const bob = await signUp(app, 'bob')
    const pending = await holdOk(app, alice.authorization, show.id, ['A1', 'A2'])
    const confirmed = await holdOk(app, bob.authorization, show.id, ['A3'])
    t.equal((await confirm(app, bob.authorization, confirmed.id)).statusCode, 200)
    const earlier = await holdOk(app, bob.authorization, show.id, ['A4'])
    t.equal((await cancel(app, bob.authorization, earlier.id)).statusCode, 200)

    const res = await post(`/api/admin/shows/${show.id}/cancel`)
    t.equal(res.statusCode, 200)
    t.match(json<Show>(res), { id: show.id, status: 'CANCELLED', availableSeats: 10, heldSeats: 0, bookedSeats: 0 })
    t.match(json<Booking>(await getBooking(app, alice.authorization, pending.id)), { status: 'CANCELLED' }, 'PENDING → CANCELLED')
    const b = json<Booking>(await getBooking(app, bob.authorization, confirmed.id))
    t.match(b, { status: 'CANCELLED' }, 'CONFIRMED → CANCELLED')
    t.ok(b.cancelledAt !== null, 'cancelledAt set')
    const map = await seatMap(app, show.id)
    t.same(map.counts, { AVAILABLE: 10, HELD: 0, BOOKED: 0 }, 'every seat AVAILABLE')
    t.match(json(await get(`/api/admin/shows/${show.id}`)), { status: 'CANCELLED' })
    expectError(t, await post(`/api/admin/shows/${MISSING_ID}/cancel`), 404, 'SHOW_NOT_FOUND')
    expectValidationError(t, await post('/api/admin/shows/nope/cancel'), /id/, 'malformed id')
  })

  t.test('GET /api/admin/shows/:id/bookings', async (t) => {
    const show = await createShow(app)
    const other = await createShow(app)
    const alice = await signUp(app, 'alice')
    const bob = await signUp(app, 'bob')
    const first = await holdOk(app, alice.authorization, show.id, ['A1'])
    const second = await holdOk(app, bob.authorization, show.id, ['A2', 'A3'])
    await holdOk(app, bob.authorization, other.id, ['A1'])
    const third = await holdOk(app, alice.authorization, show.id, ['B1'])
    t.equal((await confirm(app, bob.authorization, second.id)).statusCode, 200)
    t.equal((await cancel(app, alice.authorization, third.id)).statusCode, 200)
    const list = async (qs = '') => get(`/api/admin/shows/${show.id}/bookings${qs}`)

    const all = json<Page<Booking>>(await list())
    t.match(all, { total: 3, limit: 20, offset: 0 })
    t.same(all.items.map((b) => b.id).sort(), [first.id, second.id, third.id].sort(), 'every user\'s bookings of this show, no other show\'s')
    t.same(json<Page<Booking>>(await list('?status=CONFIRMED')).items.map((b) => b.id), [second.id])
    t.same(json<Page<Booking>>(await list('?status=CANCELLED')).items.map((b) => b.id), [third.id])
    t.same(json<Page<Booking>>(await list('?status=PENDING')).items.map((b) => b.id), [first.id])
    t.same(json<Page<Booking>>(await list('?status=FAILED')), { items: [], total: 0, limit: 20, offset: 0 })
    const page = json<Page<Booking>>(await list('?limit=1&offset=1'))
    t.match(page, { total: 3, limit: 1, offset: 1 })
    t.equal(page.items.length, 1)
    expectValidationError(t, await list('?status=LOST'), /status/, 'unknown status')
    expectValidationError(t, await list('?limit=0'), /limit/, 'limit 0')
    expectError(t, await get(`/api/admin/shows/${MISSING_ID}/bookings`), 404, 'SHOW_NOT_FOUND')
  })

  t.test('every admin route: 401 without a token, 403 FORBIDDEN for a USER token', async (t) => {
    const show = await createShow(app)
    const user = await signUp(app)
    const routes: Array<{ method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Record<string, unknown> }> = [
      { method: 'POST', url: '/api/admin/movies', payload: { title: 'Sneaky' } },
      { method: 'POST', url: '/api/admin/shows', payload: showBody() },
      { method: 'GET', url: '/api/admin/shows' },
      { method: 'GET', url: `/api/admin/shows/${show.id}` },
      { method: 'PATCH', url: `/api/admin/shows/${show.id}`, payload: { name: 'Hijacked' } },
      { method: 'POST', url: `/api/admin/shows/${show.id}/cancel` },
      { method: 'GET', url: `/api/admin/shows/${show.id}/bookings` }
    ]
    const movies = await app.models.Movie.countDocuments()
    const shows = await app.models.Show.countDocuments()
    for (const route of routes) {
      const what = `${route.method} ${route.url}`
      expectError(t, await app.inject({ ...route }), 401, 'UNAUTHORIZED', `${what} without a token`)
      expectError(t, await app.inject({ ...route, headers: { authorization: 'Bearer junk' } }), 401, 'UNAUTHORIZED', `${what} with a junk token`)
      expectError(t, await app.inject({ ...route, headers: { authorization: user.authorization } }), 403, 'FORBIDDEN', `${what} as USER`)
    }
    t.equal(await app.models.Movie.countDocuments(), movies, 'no movie was made')
    t.equal(await app.models.Show.countDocuments(), shows, 'no show was made')
    t.match(json(await get(`/api/admin/shows/${show.id}`)), { name: 'Test show', status: 'SCHEDULED' }, 'the show is untouched')
  })
})
