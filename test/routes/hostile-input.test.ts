// Hostile input: operator objects, malformed ids, junk JSON, wrong content types, oversized
// bodies. Each gets a 4xx with the contract's error body, never a 500, and changes nothing.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { ADMIN, adminAuth, buildTestApp, createShow, json, seatMap, signUp } from '../helper.js'
import { expectError, type Tap } from './contract.js'
import { trusted } from 'mongoose'

t.test('hostile input', async (t) => {
  const app = await buildTestApp(t)
  const user = await signUp(app, 'target')
  const admin = await adminAuth(app)
  const show = await createShow(app)
  const seatIds = (await seatMap(app, show.id)).seats.map((s) => s.id)
  const { User, Booking, Seat, Show, Movie } = app.models

  const snapshot = async () => ({
    users: await User.countDocuments(),
    bookings: await Booking.countDocuments(),
    shows: await Show.countDocuments(),
    movies: await Movie.countDocuments(),
    seatsNotAvailable: await Seat.countDocuments({ status: trusted({ $ne: 'AVAILABLE' }) }),
    roles: (await User.find({}, { email: 1, role: 1, _id: 0 }).sort({ email: 1 }).lean()).map((u) => `${u.email}:${u.role}`),
    showNames: (await Show.find({}, { name: 1, status: 1, _id: 0 }).lean()).map((s) => `${s.name}:${s.status}`)
  })
  const before = await snapshot()

  /** Any 4xx with the full error body; never a 5xx. */
  const refused = (t: Tap, res: LightMyRequestResponse, what: string, status?: number, code?: string) => {
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${what}: 4xx (got ${res.statusCode} ${res.body.slice(0, 200)})`)
    expectError(t, res, status ?? res.statusCode, code ?? /^[A-Z][A-Z_]+$/, what)
  }
  const send = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers, ...(payload !== undefined && { payload: payload as Record<string, unknown> }) })

  t.test('operator objects and junk in the session and user-management routes', async (t) => {
    for (const [what, payload] of [
      ['refreshToken {$ne: null}', { refreshToken: { $ne: null } }],
      ['refreshToken {$gt: ""}', { refreshToken: { $gt: '' } }],
      ['refreshToken [an array]', { refreshToken: ['x'] }],
      ['refreshToken a number', { refreshToken: 1 }],
      ['refreshToken null', { refreshToken: null }],
      ['an extra userId', { refreshToken: 'x', userId: user.id }]
    ] as const) {
      const res = await send('POST', '/api/auth/refresh', payload)
      refused(t, res, `refresh: ${what}`, 400, 'VALIDATION_ERROR')
      t.notOk('token' in json(res), `refresh: ${what}: no token`)
      refused(t, await send('POST', '/api/auth/logout', payload), `logout: ${what}`, 400, 'VALIDATION_ERROR')
    }
    refused(t, await send('POST', '/api/auth/refresh', { refreshToken: 'x'.repeat(10_000) }), 'refresh: an oversized token', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/auth/refresh', { refreshToken: '{"$ne":null}' }), 'refresh: an operator as text', 401, 'INVALID_REFRESH_TOKEN')
    refused(t, await send('POST', '/api/auth/refresh', { refreshToken: user.authorization.slice(7) }), 'refresh: an access token', 401, 'INVALID_REFRESH_TOKEN')

    const patchUser = async (id: string, payload: unknown, headers: Record<string, string> = admin) => send('PATCH', `/api/admin/users/${id}`, payload, headers)
    refused(t, await patchUser(user.id, { role: { $ne: 'USER' } }), 'patch user: role operator', 400, 'VALIDATION_ERROR')
    refused(t, await patchUser(user.id, { role: 'admin' }), 'patch user: role in lower case', 400, 'VALIDATION_ERROR')
    refused(t, await patchUser(user.id, { disabled: 'true' }), 'patch user: disabled as text', 400, 'VALIDATION_ERROR')
    refused(t, await patchUser(user.id, { disabled: 1 }), 'patch user: disabled as a number', 400, 'VALIDATION_ERROR')
    refused(t, await patchUser(user.id, { passwordHash: 'x' }), 'patch user: a password hash', 400, 'VALIDATION_ERROR')
    refused(t, await patchUser(user.id, { $set: { role: 'ADMIN' } }), 'patch user: an update operator', 400, 'VALIDATION_ERROR')
    refused(t, await app.inject({
      method: 'PATCH', url: `/api/admin/users/${user.id}`, headers: { ...admin, 'content-type': 'application/json' },
      payload: '{"__proto__":{"role":"ADMIN"}}'
    }), 'patch user: __proto__', 400)
    refused(t, await patchUser(user.id, { role: 'ADMIN' }, { authorization: user.authorization }), 'patch user: a USER promoting themselves', 403, 'FORBIDDEN')
    for (const id of ['nope', '%7B%22%24ne%22%3Anull%7D', '%24ne', 'ffffffffffffffffffffffffff', 'a'.repeat(90)]) {
      refused(t, await patchUser(id, { role: 'ADMIN' }), `PATCH /api/admin/users/${id.slice(0, 40)}`, 400, 'VALIDATION_ERROR')
    }
    for (const query of ['email[$regex]=.*', 'email=%7B%22%24ne%22%3Anull%7D&role[$ne]=USER', 'role[$ne]=USER', 'disabled[$ne]=true', 'disabled=yes', 'role=root', 'email=' + 'e'.repeat(300)]) {
      refused(t, await send('GET', `/api/admin/users?${query}`, undefined, admin), `GET /api/admin/users?${query.slice(0, 60)}`, 400, 'VALIDATION_ERROR')
    }
    // Regex syntax in the email filter is text: it matches nothing, and catastrophic patterns cost nothing.
    for (const email of ['.*', '(a+)+$', '[', '\\', '^admin']) {
      const res = await send('GET', `/api/admin/users?email=${encodeURIComponent(email)}`, undefined, admin)
      t.equal(res.statusCode, 200, `email=${email}: answered`)
      t.equal(json<{ total: number }>(res).total, 0, `email=${email}: taken literally`)
    }
  })

  t.test('operator objects where strings belong: login and register', async (t) => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['login email {$gt: ""}', { email: { $gt: '' }, password: { $gt: '' } }],
      ['login password {$ne: null}', { email: ADMIN.email, password: { $ne: null } }],
      ['login email {$regex}', { email: { $regex: '.*' }, password: 'password-123' }],
      ['login email [admin] (an array)', { email: [{ $ne: null }], password: 'x-password' }]
    ]
    for (const [what, payload] of cases) {
      const res = await send('POST', '/api/auth/login', payload)
      refused(t, res, what, 400, 'VALIDATION_ERROR')
      t.notOk('token' in json(res), `${what}: no token`)
    }
    refused(t, await send('POST', '/api/auth/register', { email: { $gt: '' }, password: 'password-123', name: 'x' }), 'register email operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/auth/register', { email: 'op@example.com', password: { $ne: null }, name: 'x' }), 'register password operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/auth/register', { email: 'op@example.com', password: 'password-123', name: { $gt: '' } }), 'register name operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/auth/register', { email: 'op2@example.com', password: 'password-123', name: 'x', role: 'ADMIN' }), 'register choosing a role', 400, 'VALIDATION_ERROR')
    refused(t, await app.inject({
      method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' },
      payload: '{"email":"proto@example.com","password":"password-123","name":"p","__proto__":{"role":"ADMIN"}}'
    }), 'register with __proto__', 400)
    refused(t, await app.inject({
      method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' },
      payload: '{"email":"ctor@example.com","password":"password-123","name":"p","constructor":{"prototype":{"role":"ADMIN"}}}'
    }), 'register with constructor.prototype', 400)
  })

  t.test('operator objects where ids and labels belong: holds, confirm, patch', async (t) => {
    const h = async (payload: unknown) => send('POST', `/api/shows/${show.id}/bookings`, payload, { authorization: user.authorization })
    refused(t, await h({ seatIds: [{ $gt: '' }] }), 'seatIds [{$gt}]', 400, 'VALIDATION_ERROR')
    refused(t, await h({ seatIds: { $ne: null } }), 'seatIds {$ne}', 400, 'VALIDATION_ERROR')
    refused(t, await h({ seatLabels: [{ $ne: null }] }), 'seatLabels [{$ne}]', 400, 'VALIDATION_ERROR')
    refused(t, await h({ seatLabels: { $in: ['A1', 'A2'] } }), 'seatLabels {$in}', 400, 'VALIDATION_ERROR')
    refused(t, await h({ seatLabels: [{ $regex: '.*' }] }), 'seatLabels [{$regex}]', 400, 'VALIDATION_ERROR')
    refused(t, await h({ seatIds: [seatIds[0]], $where: 'true' }), 'an extra $where', 400, 'VALIDATION_ERROR')
    refused(t, await h({ quantity: { $gt: 0 } }), 'quantity {$gt}', 400, 'VALIDATION_ERROR')
    refused(t, await h({ quantity: 2, category: { $ne: null } }), 'category {$ne}', 400, 'VALIDATION_ERROR')
    refused(t, await h({ quantity: 2, category: '.*' }), 'category a regex', 400, 'VALIDATION_ERROR')
    refused(t, await h({ quantity: 2, adjacent: { $exists: true } }), 'adjacent {$exists}', 400, 'VALIDATION_ERROR')
    refused(t, await h({ quantity: 1e308 }), 'quantity 1e308', 400, 'VALIDATION_ERROR')
    const newShow = { name: 'x', type: 'MOVIE', startTime: new Date(Date.now() + 86_400_000).toISOString(), seating: { totalSeats: 4, seatsPerRow: 2 } }
    refused(t, await send('POST', '/api/admin/shows', { ...newShow, categories: [{ name: { $gt: '' }, priceCents: 1, rows: ['A'] }] }, admin), 'category name operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', { ...newShow, categories: [{ name: 'VIP', priceCents: 1, rows: { $in: ['A'] } }] }, admin), 'category rows operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', { ...newShow, categories: [{ name: 'VIP', priceCents: 1, labels: ['__proto__'] }] }, admin), 'category label __proto__ (not a seat)', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', { ...newShow, categories: { VIP: { priceCents: 1 } } }, admin), 'categories an object', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', { ...newShow, seating: { totalSeats: 4, seatsPerRow: 2, rowPreference: [{ $ne: 'A' }] } }, admin), 'rowPreference operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', { ...newShow, seating: { totalSeats: 4, seatsPerRow: 2, rowPreference: ['constructor'] } }, admin), 'rowPreference constructor (not a row)', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', {
      name: 'x', type: 'MOVIE', venue: 'v', startTime: new Date(Date.now() + 86_400_000).toISOString(), movieId: { $ne: null }, seating: { totalSeats: 1 }
    }, admin), 'movieId operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', {
      name: { $gt: '' }, type: 'MOVIE', venue: 'v', startTime: new Date(Date.now() + 86_400_000).toISOString(), seating: { totalSeats: 1 }
    }, admin), 'show name operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('PATCH', `/api/admin/shows/${show.id}`, { name: { $set: 'x' } }, admin), 'patch name operator', 400, 'VALIDATION_ERROR')
    refused(t, await send('PATCH', `/api/admin/shows/${show.id}`, { $set: { status: 'CANCELLED' } }, admin), 'patch with $set', 400, 'VALIDATION_ERROR')
    refused(t, await send('PATCH', `/api/admin/shows/${show.id}`, { status: 'CANCELLED' }, admin), 'patch the status', 400, 'VALIDATION_ERROR')
  })

  t.test('operators in query strings', async (t) => {
    const auth = { authorization: user.authorization }
    for (const [url, headers] of [
      ['/api/bookings?status[$ne]=x', auth],
      ['/api/bookings?status=%7B%22%24ne%22%3Anull%7D', auth],
      ['/api/admin/shows?status[$ne]=x', admin],
      ['/api/admin/shows?type[$gt]=', admin],
      [`/api/admin/shows/${show.id}/bookings?status[$ne]=PENDING`, admin],
      ['/api/shows?movieId[$ne]=x', {}],
      ['/api/shows?type[$ne]=BUS', {}],
      ['/api/shows?from[$gt]=2020-01-01', {}],
      ['/api/shows?limit[$gt]=0', {}],
      ['/api/shows?limit=abc', {}],
      ['/api/shows?offset=-5', {}],
      ['/api/shows?limit=1e400', {}],
      ['/api/shows?offset=1e400', {}],
      ['/api/shows?offset=1e30', {}],
      ['/api/movies?limit=Infinity', {}],
      ['/api/bookings?limit=-Infinity', auth],
      ['/api/admin/shows?offset=1e999', admin],
      ['/api/movies?limit=1&limit=2', {}]
    ] as const) {
      refused(t, await send('GET', url, undefined, headers), `GET ${url}`, 400, 'VALIDATION_ERROR')
    }
  })

  t.test('malformed ids in paths are 400, never 500', async (t) => {
    const auth = { authorization: user.authorization }
    for (const id of ['nope', '123', '%7B%22%24gt%22%3A%22%22%7D', '%24ne', 'ffffffffffffffffffffffffff', '0123456789ABCDEF0123456Z']) {
      for (const [method, url, headers] of [
        ['GET', `/api/shows/${id}`, {}],
        ['GET', `/api/shows/${id}/seats`, {}],
        ['GET', `/api/movies/${id}`, {}],
        ['POST', `/api/shows/${id}/bookings`, auth],
        ['GET', `/api/bookings/${id}`, auth],
        ['POST', `/api/bookings/${id}/confirm`, auth],
        ['POST', `/api/bookings/${id}/cancel`, auth],
        ['POST', `/api/bookings/${id}/extend`, auth],
        ['GET', `/api/admin/shows/${id}`, admin],
        ['PATCH', `/api/admin/shows/${id}`, admin],
        ['POST', `/api/admin/shows/${id}/cancel`, admin],
        ['GET', `/api/admin/shows/${id}/bookings`, admin]
      ] as const) {
        const payload = method === 'PATCH' ? { name: 'x' } : url.endsWith('/bookings') && method === 'POST' ? { seatLabels: ['A1'] } : undefined
        refused(t, await send(method, url, payload, headers), `${method} ${url}`, 400, 'VALIDATION_ERROR')
      }
    }
  })

  t.test('junk JSON, wrong content types, oversized bodies', async (t) => {
    const raw = async (url: string, payload: string | Buffer, contentType: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url, headers: { 'content-type': contentType, ...headers }, payload })
    const holdUrl = `/api/shows/${show.id}/bookings`
    const auth = { authorization: user.authorization }
    refused(t, await raw('/api/auth/login', '{bad', 'application/json'), 'junk JSON to login', 400)
    refused(t, await raw('/api/auth/register', '{"email": "a@b.c",', 'application/json'), 'truncated JSON to register', 400)
    refused(t, await raw(holdUrl, '{bad', 'application/json', auth), 'junk JSON to a hold', 400)
    refused(t, await raw(holdUrl, '', 'application/json', auth), 'empty JSON body to a hold', 400)
    refused(t, await raw(holdUrl, 'null', 'application/json', auth), 'null body to a hold', 400)
    refused(t, await raw(holdUrl, '[]', 'application/json', auth), 'an array body to a hold', 400)
    refused(t, await raw(holdUrl, '"A1"', 'application/json', auth), 'a string body to a hold', 400)
    refused(t, await raw('/api/auth/login', `<login><email>${ADMIN.email}</email></login>`, 'application/xml'), 'XML to login', 415)
    refused(t, await raw(holdUrl, 'seatLabels=A1', 'application/x-www-form-urlencoded', auth), 'a form to a hold', 415)
    refused(t, await raw('/api/auth/login', JSON.stringify(ADMIN), 'text/plain'), 'JSON sent as text/plain to login', 415, 'UNSUPPORTED_MEDIA_TYPE')
    refused(t, await raw('/api/auth/register', Buffer.from([0xff, 0xfe, 0x00, 0x7b]), 'application/json'), 'binary junk as JSON', 400)

    const big = JSON.stringify({ seatLabels: ['A1'], pad: 'x'.repeat(300 * 1024) })
    refused(t, await raw(holdUrl, big, 'application/json', auth), 'a body over 256 KiB to a hold', 413)
    const bigRegister = JSON.stringify({ email: 'big@example.com', password: 'password-123', name: 'n'.repeat(300 * 1024) })
    refused(t, await raw('/api/auth/register', bigRegister, 'application/json'), 'a body over 256 KiB to register', 413)
    const bigShow = JSON.stringify({
      name: 'big', type: 'EVENT', venue: 'v', startTime: new Date(Date.now() + 86_400_000).toISOString(),
      seating: { labels: Array.from({ length: 40_000 }, (_, i) => `L${i}`) }
    })
    refused(t, await raw('/api/admin/shows', bigShow, 'application/json', admin), 'a body over 256 KiB to create a show', 413)
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`
    refused(t, await raw('/api/auth/login', deep, 'application/json'), 'deeply nested JSON', 400)
  })

  t.test('JSON bodies are taken as typed: a wrong type is refused, not converted', async (t) => {
    const h = async (payload: unknown) => send('POST', `/api/shows/${show.id}/bookings`, payload, { authorization: user.authorization })
    refused(t, await h({ seatLabels: 'A1' }), 'a string where a list belongs', 400, 'VALIDATION_ERROR')
    refused(t, await h({ seatIds: seatIds[0] }), 'an id where a list belongs', 400, 'VALIDATION_ERROR')
    const numbers = { name: 'typed', type: 'EVENT', venue: 'v', startTime: new Date(Date.now() + 86_400_000).toISOString(), seating: { totalSeats: 5 } }
    refused(t, await send('POST', '/api/admin/shows', { ...numbers, priceCents: '1250' }, admin), 'a numeric string where a number belongs', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/admin/shows', { ...numbers, seating: { totalSeats: true } }, admin), 'a boolean where a number belongs', 400, 'VALIDATION_ERROR')
    // JSON's 1e400 parses to Infinity: not an integer.
    const huge = await app.inject({ method: 'POST', url: '/api/admin/shows', headers: { ...admin, 'content-type': 'application/json' }, payload: JSON.stringify(numbers).replace('"totalSeats":5', '"totalSeats":1e400') })
    refused(t, huge, 'a number too large to be finite', 400, 'VALIDATION_ERROR')
    refused(t, await send('POST', '/api/auth/register', { email: 'typed@example.com', password: 12345678, name: 'x' }), 'a number where a string belongs', 400, 'VALIDATION_ERROR')
  })

  t.test('hostile headers', async (t) => {
    const h = async (headers: Record<string, string>) => app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers, payload: { seatLabels: ['A1'] } })
    refused(t, await h({ authorization: 'Bearer {"$ne":null}' }), 'an operator as token', 401, 'UNAUTHORIZED')
    refused(t, await h({ authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1NjciLCJyb2xlIjoiQURNSU4ifQ.' }), 'an alg:none token', 401, 'UNAUTHORIZED')
    refused(t, await h({ authorization: user.authorization, 'idempotency-key': 'k'.repeat(500) }), 'an oversized Idempotency-Key', 400, 'VALIDATION_ERROR')
    const none = await app.inject({ method: 'GET', url: '/api/admin/shows', headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1NjciLCJyb2xlIjoiQURNSU4ifQ.' } })
    refused(t, none, 'an unsigned admin token on an admin route', 401, 'UNAUTHORIZED')
  })

  t.test('nothing changed', async (t) => {
    t.same(await snapshot(), before, 'users, roles, shows, movies, bookings and seats are as they were')
    const map = await seatMap(app, show.id)
    t.same(map.counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 })
    const mine = await app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: user.authorization } })
    t.equal(json<{ total: number }>(mine).total, 0)
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: user.authorization } })
    t.equal(json<{ role: string }>(me).role, 'USER')
    t.equal(({} as Record<string, unknown>).role, undefined, 'Object.prototype was not polluted')
  })
})
