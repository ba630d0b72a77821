// Issue 5 § Fault tests, fuzzed input: fast-check-generated junk (arbitrary JSON, near-valid
// bodies with one field replaced by junk, `$`-operator keys, prototype-poisoning keys, huge
// numbers, deep arrays, malformed JSON, wrong content types, junk query strings, junk path ids,
// junk tokens and Idempotency-Keys) against every route of API.md, each with the token it needs
// (and sometimes a wrong one). For every request:
//   - the status is 2xx or 4xx, never 5xx (nor anything else);
//   - every 4xx carries the contract's error body;
//   - a 4xx changes nothing: the users, movies, shows, bookings and seats (per show and status,
//     and the main show's seats in full) read before and after are the same. (Refresh tokens are
//     not compared: a spent one presented again ends its sign-in with a 401, by design.)
// Afterwards the whole database still keeps the seat promise.
import t from 'tap'
import fc from 'fast-check'
import { Types } from 'mongoose'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { adminAuth, buildTestApp, json, signUp } from '../helper.js'
import type { Booking } from '../../src/schemas/booking.js'
import { check, errorBodyProblem } from './support.js'
import { auditSeats } from '../audit.js'

const RUNS_PER_ROUTE = Number(process.env.MODEX_FUZZ_RUNS ?? 40)

// ---- Junk ----------------------------------------------------------------------------------

const operatorKey = fc.constantFrom('$gt', '$ne', '$in', '$where', '$regex', '$expr', '$or', '$set', '$exists', '__proto__', 'constructor', 'prototype')
const hugeNumber = fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 1e21, 0.1 + 0.2, -0, 4.9e-324, 1e20)
/** One junk JSON value: any JSON, operator objects, huge numbers, nested arrays, wrong types. */
const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.dictionary(operatorKey, fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 }) },
  { weight: 1, arbitrary: hugeNumber },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 120 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  // Strings that ajv's type coercion turns into numbers, non-finite ones included.
  { weight: 1, arbitrary: fc.constantFrom('1e309', '-1e309', 'Infinity', '-Infinity', '1e20', '12', '-0', '0x10', ' 7 ', 'true') },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'A1', '0123456789abcdef01234567', '2026-13-45T99:99:99Z', 'ÿ'.repeat(20), '\u0000', '%00', '${7*7}', '<script>') }
)

/** Raw request bodies that are not (valid) JSON, or are hostile JSON text. */
const rawJunk = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '{', '}', '[', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', 'undefined', '1e400', '-1e400', '{"a":1e999}',
    '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}',
    '{"email":{"$gt":""},"password":{"$ne":null}}', '\u0000', '\uFEFF{}',
    '['.repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(2000) + '1' + '}'.repeat(2000)
  )
)

interface Body { payload?: string, contentType?: string }

/** A body: mostly JSON (junk, or the route's valid body with one field broken), sometimes raw junk or another content type. */
function bodyArb (valid: Record<string, unknown> | null): fc.Arbitrary<Body> {
  const mutated: fc.Arbitrary<unknown> = valid === null
    ? junkValue
    : fc.oneof(
      // one field replaced by junk
      fc.tuple(fc.constantFrom(...Object.keys(valid)), junkValue).map(([key, value]) => ({ ...valid, [key]: value })),
      // one field missing
      fc.constantFrom(...Object.keys(valid)).map((key) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))),
      // an extra field, often an operator
      fc.tuple(fc.oneof(operatorKey, fc.string({ maxLength: 20 })), junkValue).map(([key, value]) => ({ ...valid, [key]: value })),
      // the valid body itself (so deeper code paths get reached, and later junk meets real state)
      fc.constant(valid)
    )
  return fc.oneof(
    { weight: 6, arbitrary: mutated.map((value): Body => ({ payload: JSON.stringify(value), contentType: 'application/json' })) },
    { weight: 3, arbitrary: junkValue.map((value): Body => ({ payload: JSON.stringify(value) ?? 'null', contentType: 'application/json' })) },
    { weight: 2, arbitrary: rawJunk.map((payload): Body => ({ payload, contentType: 'application/json' })) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml', 'application/json-patch+json'), rawJunk)
        .map(([contentType, payload]): Body => ({ payload, contentType }))
    },
    { weight: 1, arbitrary: fc.constant<Body>({}) }
  )
}

const urlSafe = (s: string): string | null => {
  try {
    return encodeURIComponent(s)
  } catch {
    return null // a lone surrogate cannot be a URL
  }
}

const queryKey = fc.oneof(
  fc.constantFrom('limit', 'offset', 'status', 'type', 'movieId', 'from', 'to', 'email', 'role', 'disabled'),
  fc.constantFrom('status[$ne]', 'limit[$gt]', '$where', '__proto__', 'constructor[prototype]', 'type[]', 'limit[0]'),
  fc.string({ maxLength: 12 })
)
const queryValue = fc.oneof(
  fc.constantFrom('-1', '0', '1', '100', '101', '1e3', '1e309', '-1e309', 'Infinity', '1.5', '99999999999999999999', 'NaN', 'Infinity', '', 'true', 'null',
    'PENDING', 'CONFIRMED', 'SCHEDULED', 'CANCELLED', 'MOVIE', 'movie', 'ADMIN', 'USER', 'false', '.*', '2026-12-01T18:30:00Z', 'yesterday', '0123456789abcdef01234567', '{"$gt":""}'),
  fc.string({ maxLength: 40 })
)
/** A query string: real and junk keys (repeated keys make arrays), or raw junk. */
const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${urlSafe(k) ?? 'x'}=${urlSafe(v) ?? 'x'}`).join('&')) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '&&==&', 'limit', 'limit=', '=1', 'a[b][c]=1', 'limit=1&limit=2', 'offset=1e309', '%E0%A4%A', 'x=%00') },
  { weight: 1, arbitrary: fc.constant('') }
)

/** A path id: real ids, ids of nothing, near-ids and junk. */
function idArb (real: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: real.length > 0 ? fc.constantFrom(...real) : fc.constant(new Types.ObjectId().toHexString()) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-fA-F]{24}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-f]{0,30}$/) },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((s) => urlSafe(s) ?? 'x') },
    { weight: 1, arbitrary: fc.constantFrom('null', 'undefined', '0', '-1', '1e400', '%00', '%2e%2e', '..', '%2F', '%7B%22%24ne%22%3Anull%7D', '$gt', 'a'.repeat(3000), ' ' + '0'.repeat(24), '0'.repeat(24) + '%20') }
  )
}

/** Mostly the right token; sometimes none, a junk one, a tampered one, or the wrong role's. */
function authArb (right: string, wrong: string | undefined, tamperable: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(right) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,80}$/).map((s) => `Bearer ${s}`) },
    { weight: 1, arbitrary: fc.constantFrom(tamperable.slice(0, -2) + 'xx', tamperable.replace(/^Bearer /, 'Basic '), 'Bearer', 'Bearer ', 'bearer ' + tamperable.slice(7), 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1NjciLCJyb2xlIjoiQURNSU4ifQ.') },
    { weight: wrong === undefined ? 0 : 1, arbitrary: fc.constant(wrong ?? right) }
  )
}

// ---- Routes ---------------------------------------------------------------------------------

interface Route {
  name: string
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** Builds the URL from a generated id (ignored by routes without one). */
  path: (id: string) => string
  ids?: string[]
  body?: Record<string, unknown> | null
  query?: boolean
  auth?: { right: string, wrong?: string }
  /** Extra generated headers. */
  headers?: fc.Arbitrary<Record<string, string>>
  runs?: number
}

interface Request { id: string, query: string, body: Body, authorization: string | undefined, headers: Record<string, string> }

t.test('fuzzed input against every route: only 2xx/4xx, the error body, and a failed request changes nothing', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '1800', SWEEP_SECONDS: '3600' })
  const models = app.models
  const admin = (await adminAuth(app)).authorization
  const user = await signUp(app, 'fuzz')
  const other = await signUp(app, 'other')
  const signIn = async (): Promise<{ refreshToken: string }> =>
    json(await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'password-123' } }))
  const [refreshSession, logoutSession] = [await signIn(), await signIn()]
  const adminId = json<{ id: string }>(await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: admin } })).id

  const post = async (url: string, authorization: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const res = await app.inject({ method: 'POST', url, headers: { authorization }, payload })
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    return json(res)
  }
  const showBody = {
    name: 'Fuzz show', type: 'MOVIE', startTime: new Date(Date.now() + 86_400_000).toISOString(), venue: 'Screen 9',
    description: 'd', durationMinutes: 100, holdSeconds: 600, priceCents: 900, seating: { totalSeats: 20, seatsPerRow: 10 }
  }
  const movie = await post('/api/admin/movies', admin, { title: 'Fuzz movie' })
  const show = await post('/api/admin/shows', admin, { ...showBody, movieId: movie.id })
  const spare = await post('/api/admin/shows', admin, { ...showBody, name: 'Spare show', seating: { labels: ['L1', 'U1', '10:00'] } })
  const held = await post(`/api/shows/${String(show.id)}/bookings`, user.authorization, { seatLabels: ['A1', 'A2'] }) as unknown as Booking
  const confirmed = await post(`/api/shows/${String(show.id)}/bookings`, user.authorization, { seatLabels: ['B1'] }) as unknown as Booking
  await post(`/api/bookings/${confirmed.id}/confirm`, user.authorization, {})
  const othersBooking = await post(`/api/shows/${String(spare.id)}/bookings`, other.authorization, { seatLabels: ['L1'] }) as unknown as Booking
  const seatIds = (json<{ seats: Array<{ id: string }> }>(await app.inject({ method: 'GET', url: `/api/shows/${String(show.id)}/seats` }))).seats.map((s) => s.id)

  const showId = String(show.id)
  const spareId = String(spare.id)
  const movieId = String(movie.id)
  const bookingIds = [held.id, confirmed.id, othersBooking.id]
  const idempotencyKey = fc.oneof(fc.stringMatching(/^[\x21-\x7e]{1,140}$/), fc.constantFrom('k', 'same-key', 'x'.repeat(128), 'x'.repeat(129)))

  const routes: Route[] = [
    { name: 'POST /api/auth/register', method: 'POST', path: () => '/api/auth/register', body: { email: 'fuzzed@example.com', password: 'password-123', name: 'Fuzzed' } },
    { name: 'POST /api/auth/login', method: 'POST', path: () => '/api/auth/login', body: { email: user.email, password: 'password-123' } },
    { name: 'GET /api/auth/me', method: 'GET', path: () => '/api/auth/me', query: true, auth: { right: user.authorization } },
    // The first valid refresh rotates the token; later ones present a spent token (401, sign-in ended).
    { name: 'POST /api/auth/refresh', method: 'POST', path: () => '/api/auth/refresh', body: { refreshToken: refreshSession.refreshToken } },
    { name: 'POST /api/auth/logout', method: 'POST', path: () => '/api/auth/logout', body: { refreshToken: logoutSession.refreshToken } },
    { name: 'GET /api/admin/users', method: 'GET', path: () => '/api/admin/users', query: true, auth: { right: admin, wrong: user.authorization } },
    { name: 'POST /api/admin/movies', method: 'POST', path: () => '/api/admin/movies', body: { title: 'T', description: 'D', durationMinutes: 90 }, auth: { right: admin, wrong: user.authorization } },
    { name: 'POST /api/admin/shows', method: 'POST', path: () => '/api/admin/shows', body: { ...showBody, seating: { totalSeats: 3 }, movieId }, auth: { right: admin, wrong: user.authorization } },
    {
      name: 'POST /api/admin/shows (categories, rowPreference)',
      method: 'POST',
      path: () => '/api/admin/shows',
      body: { ...showBody, seating: { totalSeats: 6, seatsPerRow: 3, rowPreference: ['B', 'A'] }, categories: [{ name: 'VIP', priceCents: 100, rows: ['A'] }, { name: 'BOX', priceCents: 50, labels: ['B3'] }] },
      auth: { right: admin, wrong: user.authorization }
    },
    { name: 'GET /api/admin/shows', method: 'GET', path: () => '/api/admin/shows', query: true, auth: { right: admin, wrong: user.authorization } },
    { name: 'GET /api/admin/shows/:id', method: 'GET', path: (id) => `/api/admin/shows/${id}`, ids: [showId, spareId], query: true, auth: { right: admin, wrong: user.authorization } },
    { name: 'PATCH /api/admin/shows/:id', method: 'PATCH', path: (id) => `/api/admin/shows/${id}`, ids: [spareId], body: { name: 'Renamed', venue: 'V', description: 'x', startTime: new Date(Date.now() + 2 * 86_400_000).toISOString() }, auth: { right: admin, wrong: user.authorization } },
    { name: 'GET /api/admin/shows/:id/bookings', method: 'GET', path: (id) => `/api/admin/shows/${id}/bookings`, ids: [showId, spareId], query: true, auth: { right: admin, wrong: user.authorization } },
    { name: 'GET /api/movies', method: 'GET', path: () => '/api/movies', query: true },
    { name: 'GET /api/movies/:id', method: 'GET', path: (id) => `/api/movies/${id}`, ids: [movieId] },
    { name: 'GET /api/shows', method: 'GET', path: () => '/api/shows', query: true },
    { name: 'GET /api/shows/:id', method: 'GET', path: (id) => `/api/shows/${id}`, ids: [showId, spareId] },
    { name: 'GET /api/shows/:id/seats', method: 'GET', path: (id) => `/api/shows/${id}/seats`, ids: [showId, spareId] },
    {
      name: 'POST /api/shows/:id/bookings',
      method: 'POST',
      path: (id) => `/api/shows/${id}/bookings`,
      ids: [showId, spareId],
      body: { seatLabels: ['A3', 'B5'] },
      auth: { right: user.authorization },
      headers: fc.oneof(fc.constant({}), idempotencyKey.map((key) => ({ 'idempotency-key': key })))
    },
    {
      name: 'POST /api/shows/:id/bookings (best available)',
      method: 'POST',
      path: (id) => `/api/shows/${id}/bookings`,
      ids: [showId, spareId],
      body: { quantity: 2, category: 'STANDARD', adjacent: true },
      auth: { right: user.authorization },
      headers: fc.oneof(fc.constant({}), idempotencyKey.map((key) => ({ 'idempotency-key': key })))
    },
    {
      name: 'POST /api/shows/:id/bookings (by seat id)',
      method: 'POST',
      path: (id) => `/api/shows/${id}/bookings`,
      ids: [showId],
      // A6 is free and B1 is booked: the first claim succeeds and must be compensated.
      body: { seatIds: [seatIds[10], seatIds[5]] },
      auth: { right: user.authorization }
    },
    { name: 'GET /api/bookings', method: 'GET', path: () => '/api/bookings', query: true, auth: { right: user.authorization } },
    { name: 'GET /api/bookings/:id', method: 'GET', path: (id) => `/api/bookings/${id}`, ids: bookingIds, auth: { right: user.authorization } },
    { name: 'POST /api/bookings/:id/extend', method: 'POST', path: (id) => `/api/bookings/${id}/extend`, ids: bookingIds, body: null, auth: { right: user.authorization } },
    { name: 'POST /api/bookings/:id/confirm', method: 'POST', path: (id) => `/api/bookings/${id}/confirm`, ids: bookingIds, body: { paymentReference: 'pay-1' }, auth: { right: user.authorization } },
    // Last among the booking routes and the admin ones: they settle the bookings and the spare show.
    { name: 'POST /api/bookings/:id/cancel', method: 'POST', path: (id) => `/api/bookings/${id}/cancel`, ids: bookingIds, body: null, auth: { right: user.authorization } },
    { name: 'POST /api/admin/shows/:id/cancel', method: 'POST', path: (id) => `/api/admin/shows/${id}/cancel`, ids: [spareId], body: null, auth: { right: admin, wrong: user.authorization } },
    // Last: it may disable `other`. On the admin (the only one) every change is 409 LAST_ADMIN, which must leave the account exactly as it was.
    { name: 'PATCH /api/admin/users/:id', method: 'PATCH', path: (id) => `/api/admin/users/${id}`, ids: [other.id, adminId], body: { role: 'USER', disabled: false }, auth: { right: admin, wrong: user.authorization } },
    { name: 'GET /health', method: 'GET', path: () => '/health', query: true, runs: 10 },
    { name: 'GET /ready', method: 'GET', path: () => '/ready', query: true, runs: 10 },
    { name: 'GET /metrics', method: 'GET', path: () => '/metrics', query: true, runs: 10 },
    { name: 'GET /docs/json', method: 'GET', path: () => '/docs/json', query: true, runs: 5 },
    { name: 'unknown routes', method: 'GET', path: (id) => `/api/${id}`, ids: ['nothing-here', 'shows/x/y/z', 'admin', 'bookings/'] }
  ]

  /** Everything a request could change. (Idempotency records are left out on purpose: recording a 4xx answer for its key is the contract.) */
  const snapshot = async (): Promise<string> => {
    const [users, movies, shows, bookings, seatsByStatus, mainSeats] = await Promise.all([
      models.User.find({}).sort({ _id: 1 }).lean(),
      models.Movie.find({}).sort({ _id: 1 }).lean(),
      models.Show.find({}).sort({ _id: 1 }).lean(),
      models.Booking.find({}).sort({ _id: 1 }).lean(),
      models.Seat.aggregate<{ _id: { showId: Types.ObjectId, status: string }, n: number }>([{ $group: { _id: { showId: '$showId', status: '$status' }, n: { $sum: 1 } } }]),
      models.Seat.find({ showId }).sort({ _id: 1 }).lean()
    ])
    const seatCounts = seatsByStatus.map((g) => `${g._id.showId.toHexString()}:${g._id.status}:${g.n}`).sort()
    return JSON.stringify({ users, movies, shows, bookings, seatCounts, mainSeats })
  }

  const counts = new Map<string, Map<number, number>>()
  for (const route of routes) {
    const requestArb: fc.Arbitrary<Request> = fc.record({
      id: idArb(route.ids ?? []),
      query: route.query === true ? queryArb : fc.constant(''),
      body: route.body === undefined ? fc.constant<Body>({}) : bodyArb(route.body),
      authorization: route.auth === undefined ? fc.constant(undefined) : authArb(route.auth.right, route.auth.wrong, route.auth.right),
      headers: route.headers ?? fc.constant({})
    })
    const seen = new Map<number, number>()
    counts.set(route.name, seen)
    await t.test(route.name, async (t) => {
      await fc.assert(fc.asyncProperty(requestArb, async (request) => {
        const url = route.path(request.id) + (request.query === '' ? '' : `?${request.query}`)
        const headers: Record<string, string> = { ...request.headers }
        if (request.authorization !== undefined) headers.authorization = request.authorization
        if (request.body.contentType !== undefined) headers['content-type'] = request.body.contentType
        const options: InjectOptions = { method: route.method, url, headers, ...(request.body.payload !== undefined && { payload: request.body.payload }) }
        const what = `${route.method} ${url.slice(0, 300)} ${JSON.stringify(headers).slice(0, 300)} body ${String(request.body.payload).slice(0, 300)}`

        const before = await snapshot()
        const res: LightMyRequestResponse = await app.inject(options)
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1)
        check(res.statusCode >= 200 && res.statusCode < 500 && !(res.statusCode >= 300 && res.statusCode < 400),
          `${what}\n  → ${res.statusCode} ${res.body.slice(0, 500)}`)
        if (res.statusCode >= 400) {
          const problem = errorBodyProblem(res.statusCode, res.body)
          check(problem === null, `${what}\n  → ${res.statusCode}: ${problem ?? ''}`)
          const after = await snapshot()
          check(after === before, `${what}\n  → ${res.statusCode} ${res.body.slice(0, 300)}, but the database changed`)
        }
      }), { numRuns: route.runs ?? RUNS_PER_ROUTE })
      t.pass(`statuses ${[...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`)
    })
  }

  t.test('afterwards: nothing polluted, the seat promise holds, the app still serves', async (t) => {
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is not polluted')
    const problems = await auditSeats(models)
    t.same(problems, [], 'every seat agrees with its bookings')
    t.equal((await app.inject({ method: 'GET', url: `/api/shows/${showId}/seats` })).statusCode, 200)
    t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
    t.comment([...counts].map(([name, seen]) => `${name}: ${[...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`).join('\n'))
  })
})

