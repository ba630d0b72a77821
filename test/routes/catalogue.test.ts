// API.md § Public catalogue: movies, shows, one show with its counts, seat maps. No token needed.
import t from 'tap'
import { adminAuth, buildTestApp, confirm, createMovie, createShow, holdOk, json, signUp, startShow } from '../helper.js'
import { DAY, expectError, expectValidationError, HOUR, inFuture, MISSING_ID, type Movie, type Page, type SeatMap, type Show } from './contract.js'

t.test('catalogue', async (t) => {
  const app = await buildTestApp(t)
  const get = async (url: string) => app.inject({ method: 'GET', url })

  t.test('GET /api/movies and /api/movies/:id', async (t) => {
    const own = await buildTestApp(t)
    const first = await createMovie(own, { title: 'First', durationMinutes: 90 })
    const second = await createMovie(own, { title: 'Second', description: 'sequel' })
    const third = await createMovie(own, { title: 'Third' })
    const res = await own.inject({ method: 'GET', url: '/api/movies' })
    t.equal(res.statusCode, 200)
    const list = json<Page<Movie>>(res)
    t.match(list, { total: 3, limit: 20, offset: 0 })
    t.same(list.items.map((m) => m.id).sort(), [first.id, second.id, third.id].sort())
    t.same(list.items.find((m) => m.id === second.id), second, 'items are whole movies')
    const page = json<Page<Movie>>(await own.inject({ method: 'GET', url: '/api/movies?limit=2&offset=2' }))
    t.match(page, { total: 3, limit: 2, offset: 2 })
    t.same(page.items, list.items.slice(2), 'offset skips, limit caps')
    expectValidationError(t, await own.inject({ method: 'GET', url: '/api/movies?limit=0' }), /limit/, 'limit 0')
    expectValidationError(t, await own.inject({ method: 'GET', url: '/api/movies?limit=101' }), /limit/, 'limit 101')

    const one = await own.inject({ method: 'GET', url: `/api/movies/${first.id}` })
    t.equal(one.statusCode, 200)
    t.same(json(one), first)
    expectError(t, await own.inject({ method: 'GET', url: `/api/movies/${MISSING_ID}` }), 404, 'MOVIE_NOT_FOUND')
    expectValidationError(t, await own.inject({ method: 'GET', url: '/api/movies/12345' }), /id/, 'malformed id')
  })

  t.test('GET /api/shows: scheduled, not started, soonest first, with filters', async (t) => {
    const own = await buildTestApp(t)
    const dune = await createMovie(own, { title: 'Dune' })
    const alien = await createMovie(own, { title: 'Alien' })
    const in3 = await createShow(own, { name: 'in 3 days', type: 'MOVIE', movieId: dune.id, startTime: inFuture(3 * DAY) })
    const in1 = await createShow(own, { name: 'in 1 day', type: 'BUS', startTime: inFuture(DAY) })
    const in2 = await createShow(own, { name: 'in 2 days', type: 'MOVIE', movieId: alien.id, startTime: inFuture(2 * DAY) })
    const in5 = await createShow(own, { name: 'in 5 days', type: 'MOVIE', movieId: dune.id, startTime: inFuture(5 * DAY) })
    const cancelled = await createShow(own, { name: 'cancelled', startTime: inFuture(DAY + HOUR) })
    t.equal((await own.inject({ method: 'POST', url: `/api/admin/shows/${cancelled.id}/cancel`, headers: await adminAuth(own) })).statusCode, 200)
    const started = await createShow(own, { name: 'started', startTime: inFuture(4 * DAY) })
    await startShow(own, started.id)
    const list = async (qs = '') => {
      const res = await own.inject({ method: 'GET', url: `/api/shows${qs}` })
      t.equal(res.statusCode, 200, `GET /api/shows${qs}`)
      return json<Page<Show>>(res)
    }

    const all = await list()
    t.same(all.items.map((s) => s.name), ['in 1 day', 'in 2 days', 'in 3 days', 'in 5 days'], 'cancelled and started excluded, soonest first')
    t.match(all, { total: 4, limit: 20, offset: 0 })
    t.same(all.items[0], in1, 'items are whole shows')
    t.same((await list('?type=BUS')).items.map((s) => s.id), [in1.id])
    t.same((await list('?type=MOVIE')).items.map((s) => s.id), [in2.id, in3.id, in5.id])
    t.same((await list(`?movieId=${dune.id}`)).items.map((s) => s.id), [in3.id, in5.id])
    t.same((await list(`?movieId=${MISSING_ID}`)).items, [])
    const from = encodeURIComponent(inFuture(DAY + 2 * HOUR))
    const to = encodeURIComponent(inFuture(3 * DAY + HOUR))
    t.same((await list(`?from=${from}`)).items.map((s) => s.id), [in2.id, in3.id, in5.id], 'from')
    t.same((await list(`?to=${to}`)).items.map((s) => s.id), [in1.id, in2.id, in3.id], 'to')
    t.same((await list(`?from=${from}&to=${to}`)).items.map((s) => s.id), [in2.id, in3.id], 'from and to')
    t.same((await list(`?from=${encodeURIComponent(new Date(Date.now() - 10 * DAY).toISOString())}`)).items.map((s) => s.id),
      [in1.id, in2.id, in3.id, in5.id], 'a from in the past still leaves out started shows')
    t.same((await list(`?type=MOVIE&movieId=${dune.id}&to=${to}`)).items.map((s) => s.id), [in3.id], 'filters combine')
    const page = await list('?limit=2&offset=1')
    t.same(page, { items: all.items.slice(1, 3), total: 4, limit: 2, offset: 1 })

    expectValidationError(t, await own.inject({ method: 'GET', url: '/api/shows?from=yesterday' }), /from/, 'from not a time')
    expectValidationError(t, await own.inject({ method: 'GET', url: '/api/shows?type=PLANE' }), /type/, 'unknown type')
    expectValidationError(t, await own.inject({ method: 'GET', url: '/api/shows?movieId=xyz' }), /movieId/, 'malformed movieId')
    expectValidationError(t, await own.inject({ method: 'GET', url: '/api/shows?limit=101' }), /limit/, 'limit 101')
  })

  t.test('GET /api/shows/:id computes its seat counts', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 10 }, priceCents: 700 })
    const alice = await signUp(app, 'alice')
    const bob = await signUp(app, 'bob')
    await holdOk(app, alice.authorization, show.id, ['A1', 'A2'])
    const b = await holdOk(app, bob.authorization, show.id, ['A5', 'A6', 'A7'])
    t.equal((await confirm(app, bob.authorization, b.id)).statusCode, 200)
    const res = await get(`/api/shows/${show.id}`)
    t.equal(res.statusCode, 200)
    t.match(json<Show>(res), { id: show.id, totalSeats: 10, availableSeats: 5, heldSeats: 2, bookedSeats: 3, priceCents: 700, status: 'SCHEDULED' })
    const listed = json<Page<Show>>(await get('/api/shows?limit=100')).items.find((s) => s.id === show.id)
    t.match(listed, { availableSeats: 5, heldSeats: 2, bookedSeats: 3 }, 'the list shows the same counts')
    expectError(t, await get(`/api/shows/${MISSING_ID}`), 404, 'SHOW_NOT_FOUND')
    expectValidationError(t, await get('/api/shows/not-an-id'), /id/, 'malformed id')
    // a cancelled show is still readable by id
    await app.inject({ method: 'POST', url: `/api/admin/shows/${show.id}/cancel`, headers: await adminAuth(app) })
    t.match(json(await get(`/api/shows/${show.id}`)), { status: 'CANCELLED', availableSeats: 10 })
  })

  t.test('GET /api/shows/:id/seats: the live map in seat order', async (t) => {
    const show = await createShow(app, { seating: { totalSeats: 24, seatsPerRow: 12 } })
    const alice = await signUp(app, 'alice')
    await holdOk(app, alice.authorization, show.id, ['A10', 'B2'])
    const booked = await holdOk(app, alice.authorization, show.id, ['A2'])
    t.equal((await confirm(app, alice.authorization, booked.id)).statusCode, 200)

    const res = await get(`/api/shows/${show.id}/seats`)
    t.equal(res.statusCode, 200)
    const map = json<SeatMap>(res)
    t.equal(map.showId, show.id)
    t.same(map.seats.map((s) => s.label), [
      'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'A11', 'A12',
      'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11', 'B12'
    ], 'seat order (A2 before A10), not label order')
    t.same(map.counts, { AVAILABLE: 21, HELD: 2, BOOKED: 1 })
    const byLabel = Object.fromEntries(map.seats.map((s) => [s.label, s]))
    t.match(byLabel.A10, { status: 'HELD', row: 'A', number: 10 })
    t.match(byLabel.B2, { status: 'HELD', row: 'B', number: 2 })
    t.match(byLabel.A2, { status: 'BOOKED' })
    t.match(byLabel.A1, { status: 'AVAILABLE' })
    t.same(Object.keys(map.seats[0]).sort(), ['category', 'id', 'label', 'number', 'priceCents', 'row', 'status'], 'a seat is { id, label, row, number, category, priceCents, status }')
    t.match(byLabel.A1, { category: 'STANDARD', priceCents: show.priceCents }, 'a show without categories: every seat STANDARD at its price')
    t.ok(map.seats.every((s) => /^[0-9a-f]{24}$/.test(s.id)), 'seat ids are ObjectIds')
    const counted = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
    for (const s of map.seats) counted[s.status]++
    t.same(counted, map.counts, 'counts agree with the seats')
    expectError(t, await get(`/api/shows/${MISSING_ID}/seats`), 404, 'SHOW_NOT_FOUND')
    expectValidationError(t, await get('/api/shows/zzzzzzzzzzzzzzzzzzzzzzzz/seats'), /id/, 'malformed id (24 chars, not hex)')
  })

  t.test('malformed ids are 400 VALIDATION_ERROR, never 500', async (t) => {
    for (const id of ['1', 'abc', '0123456789abcdef0123456', '0123456789abcdef012345678', 'g123456789abcdef01234567', '%24where', 'null', '..%2Fadmin']) {
      for (const url of [`/api/shows/${id}`, `/api/shows/${id}/seats`, `/api/movies/${id}`]) {
        expectError(t, await get(url), 400, 'VALIDATION_ERROR', `GET ${url}`)
      }
    }
  })

  t.test('the catalogue needs no token and ignores a junk one', async (t) => {
    t.equal((await get('/api/shows')).statusCode, 200)
    t.equal((await get('/api/movies')).statusCode, 200)
    const res = await app.inject({ method: 'GET', url: '/api/shows', headers: { authorization: 'Bearer junk' } })
    t.equal(res.statusCode, 200, 'a public route does not demand a valid token')
  })
})
