// Issue 5 § Protection: each protection is shown working through the real app (inject),
// not by reading its configuration — except the timeouts, which only a config read can show
// without slow tests.
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { BODY_LIMIT } from '../../src/app.js'
import { buildTestApp, createShow, json, signUp } from '../helper.js'
import { expectError, type Tap } from '../routes/contract.js'

const get = async (app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
  app.inject({ method: 'GET', url, headers })

/** A 429 in the contract's shape, with a Retry-After of whole seconds. */
function expectRateLimited (t: Tap, res: LightMyRequestResponse, what: string): void {
  expectError(t, res, 429, 'RATE_LIMITED', what)
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `${what}: Retry-After is whole seconds within the minute window (got ${String(res.headers['retry-after'])})`)
}

t.test('security headers (helmet) on API, error and ops answers', async (t) => {
  const app = await buildTestApp(t)
  for (const url of ['/health', '/api/shows', '/api/no-such-route']) {
    const res = await get(app, url)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: x-content-type-options`)
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', `${url}: x-frame-options`)
    t.match(res.headers['strict-transport-security'], /max-age=\d+/, `${url}: strict-transport-security`)
    t.match(res.headers['content-security-policy'], /default-src 'self'/, `${url}: content-security-policy`)
    t.equal(res.headers['x-powered-by'], undefined, `${url}: no x-powered-by`)
  }
})

t.test('CORS from CORS_ORIGIN: the named origin is allowed, another is not', async (t) => {
  const app = await buildTestApp(t, { CORS_ORIGIN: 'https://app.example' })
  const preflight = async (origin: string): Promise<LightMyRequestResponse> => app.inject({
    method: 'OPTIONS',
    url: '/api/shows/0123456789abcdef01234567/bookings',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' }
  })

  const allowed = await preflight('https://app.example')
  t.equal(allowed.statusCode, 204, 'preflight from the allowed origin')
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example', 'the allowed origin is echoed')
  t.match(String(allowed.headers['access-control-allow-methods']), /POST/)
  t.match(String(allowed.headers['access-control-allow-headers']), /authorization/i)
  t.match(String(allowed.headers['access-control-allow-headers']), /idempotency-key/i)

  const simple = await get(app, '/api/shows', { origin: 'https://app.example' })
  t.equal(simple.statusCode, 200)
  t.equal(simple.headers['access-control-allow-origin'], 'https://app.example', 'actual request from the allowed origin')
  t.match(String(simple.headers['access-control-expose-headers']), /retry-after/i, 'the SPA can read Retry-After')

  const other = await preflight('https://evil.example')
  t.equal(other.headers['access-control-allow-origin'], undefined, 'preflight from another origin gets no allow-origin')
  const otherSimple = await get(app, '/api/shows', { origin: 'https://evil.example' })
  t.equal(otherSimple.headers['access-control-allow-origin'], undefined, 'actual request from another origin gets no allow-origin')
  const lookalike = await get(app, '/api/shows', { origin: 'https://app.example.evil.example' })
  t.equal(lookalike.headers['access-control-allow-origin'], undefined, 'a look-alike origin is not allowed')
})

t.test('global rate limit: the (N+1)th request is 429 RATE_LIMITED; the key is the user when signed in, else the address', async (t) => {
  const N = 5
  const app = await buildTestApp(t, { RATE_LIMIT: String(N) })
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob')

  for (let i = 1; i <= N; i++) t.equal((await get(app, '/api/bookings', { authorization: alice.authorization })).statusCode, 200, `alice request ${i}`)
  const limited = await get(app, '/api/bookings', { authorization: alice.authorization })
  expectRateLimited(t, limited, 'alice request N+1')
  t.equal(limited.headers['x-ratelimit-limit'], String(N), 'x-ratelimit-limit says the budget')

  // Same address (inject's 127.0.0.1), other keys: bob's budget and the address's are untouched.
  for (let i = 1; i <= N; i++) t.equal((await get(app, '/api/bookings', { authorization: bob.authorization })).statusCode, 200, `bob request ${i}: his own budget`)
  expectRateLimited(t, await get(app, '/api/bookings', { authorization: bob.authorization }), 'bob request N+1')

  for (let i = 1; i <= N; i++) t.equal((await get(app, '/api/shows')).statusCode, 200, `anonymous request ${i}: the address's own budget`)
  expectRateLimited(t, await get(app, '/api/shows'), 'anonymous request N+1')
  // A token that does not verify gets no budget of its own: it is keyed by the address, now spent.
  expectRateLimited(t, await get(app, '/api/shows', { authorization: 'Bearer forged.token.value' }), 'forged token shares the address budget')
  // Another address still has its budget.
  const elsewhere = await app.inject({ method: 'GET', url: '/api/shows', remoteAddress: '10.1.2.3' })
  t.equal(elsewhere.statusCode, 200, 'another address is not limited')

  // Operations endpoints are never rate limited (probes must keep working).
  t.equal((await get(app, '/health')).statusCode, 200, '/health is not limited')
})

t.test('holds have a stricter limit (RATE_LIMIT/5) per user', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT: '10' })
  const show = await createShow(app)
  const user = await signUp(app)
  const hold = async (label: string): Promise<LightMyRequestResponse> => app.inject({
    method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: user.authorization }, payload: { seatLabels: [label] }
  })
  t.equal((await hold('A1')).statusCode, 201)
  t.equal((await hold('A2')).statusCode, 201)
  expectRateLimited(t, await hold('A3'), 'third hold within the minute (limit 10/5 = 2)')
  t.equal((await get(app, '/api/bookings', { authorization: user.authorization })).statusCode, 200, 'other routes still answer within the global budget')
  const other = await signUp(app, 'other')
  t.equal((await app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: other.authorization }, payload: { seatLabels: ['A3'] } })).statusCode, 201, 'another user has their own hold budget')
})

t.test('AUTH_RATE_LIMIT on login and register, per address', async (t) => {
  const N = 3
  t.test('login', async (t) => {
    const app = await buildTestApp(t, { AUTH_RATE_LIMIT: String(N) })
    const attempt = async (remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> => app.inject({
      method: 'POST', url: '/api/auth/login', remoteAddress, payload: { email: 'nobody@example.com', password: 'guess-123' }
    })
    for (let i = 1; i <= N; i++) expectError(t, await attempt(), 401, 'INVALID_CREDENTIALS', `attempt ${i}`)
    expectRateLimited(t, await attempt(), 'login attempt N+1')
    expectError(t, await attempt('10.9.8.7'), 401, 'INVALID_CREDENTIALS', 'another address still gets to try')
  })
  t.test('register', async (t) => {
    const app = await buildTestApp(t, { AUTH_RATE_LIMIT: String(N) })
    const attempt = async (i: number): Promise<LightMyRequestResponse> => app.inject({
      method: 'POST', url: '/api/auth/register', payload: { email: `r${i}@example.com`, password: 'password-123', name: 'R' }
    })
    for (let i = 1; i <= N; i++) t.equal((await attempt(i)).statusCode, 201, `register ${i}`)
    expectRateLimited(t, await attempt(N + 1), 'register N+1')
  })
})

t.test('a body over 256 KiB is 413 with the error body, before it is parsed', async (t) => {
  const app = await buildTestApp(t)
  const payload = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(BODY_LIMIT), name: 'big' })
  const res = await app.inject({ method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' }, payload })
  expectError(t, res, 413, 'PAYLOAD_TOO_LARGE')
  const justUnder = await app.inject({
    method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ email: 'a@example.com', password: 'p'.repeat(200), name: 'x'.repeat(BODY_LIMIT - 300) })
  })
  t.equal(justUnder.statusCode, 400, 'a body under the limit is parsed and then validated (400, not 413)')
})

t.test('no request value can become a query operator', async (t) => {
  const app = await buildTestApp(t)
  const user = await signUp(app)
  const show = await createShow(app)
  const injections: Array<{ what: string, res: () => Promise<LightMyRequestResponse> }> = [
    { what: 'login email {$gt: ""}', res: async () => app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: { $gt: '' }, password: 'password-123' } }) },
    { what: 'login password {$ne: null}', res: async () => app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: { $ne: null } } }) },
    { what: 'register email {$gt: ""}', res: async () => app.inject({ method: 'POST', url: '/api/auth/register', payload: { email: { $gt: '' }, password: 'password-123', name: 'x' } }) },
    { what: 'hold seatLabels [{$gt: ""}]', res: async () => app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: user.authorization }, payload: { seatLabels: [{ $gt: '' }] } }) },
    { what: 'hold seatIds {$ne: null}', res: async () => app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: user.authorization }, payload: { seatIds: { $ne: null } } }) },
    { what: 'query status[$ne]=X', res: async () => get(app, '/api/bookings?status[$ne]=PENDING', { authorization: user.authorization }) },
    { what: 'query type[$ne]', res: async () => get(app, '/api/shows?type%5B%24ne%5D=MOVIE') },
    { what: 'query $where', res: async () => get(app, '/api/shows?$where=1') },
    { what: 'path id {$ne}', res: async () => get(app, `/api/shows/${encodeURIComponent('{"$ne":null}')}`) }
  ]
  for (const { what, res } of injections) expectError(t, await res(), 400, 'VALIDATION_ERROR', what)
  t.equal(await app.models.Booking.countDocuments({}), 0, 'no hold went through')
})

t.test('behind validation, the models refuse a $-object where a value belongs, never run it (sanitizeFilter)', async (t) => {
  const app = await buildTestApp(t)
  const user = await signUp(app)
  // Had a value like this ever slipped past the schemas, it would have matched every account
  // (without sanitizeFilter, findOne returns the user).
  const injected = { $gt: '' } as unknown as string
  // sanitizeFilter turns it into { $eq: { $gt: '' } }, which the schema's string cast refuses.
  await t.rejects(app.models.User.findOne({ email: injected }).lean(), { name: 'CastError' }, 'refused, not run')
  await t.rejects(app.models.User.countDocuments({ email: injected }), { name: 'CastError' })
  t.equal((await app.models.User.findOne({ email: user.email }).lean())?.email, user.email, 'plain values still match')
})

t.test('login failure says nothing about which of email or password was wrong', async (t) => {
  const app = await buildTestApp(t)
  const user = await signUp(app)
  const login = async (email: string, password: string): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
  const unknownEmail = await login('nobody-here@example.com', 'password-123')
  const wrongPassword = await login(user.email, 'wrong-password')
  const body = expectError(t, unknownEmail, 401, 'INVALID_CREDENTIALS', 'unknown email')
  expectError(t, wrongPassword, 401, 'INVALID_CREDENTIALS', 'wrong password')
  t.same(json(wrongPassword), body, 'the same body, byte for byte in content')
  t.same(Object.keys(wrongPassword.headers).sort(), Object.keys(unknownEmail.headers).sort(), 'the same headers')
  t.equal((await login(user.email, 'password-123')).statusCode, 200, 'the right password still signs in')
})

t.test('load shedding: under event-loop pressure requests get 503 OVERLOADED with Retry-After, at once', async (t) => {
  const app = await buildTestApp(t, { OVERLOAD_EVENT_LOOP_DELAY_MS: '1000' })
  t.equal((await get(app, '/health')).statusCode, 200, 'no pressure: 200')

  // @fastify/under-pressure samples the event-loop delay histogram (10 ms resolution) every
  // sampleInterval (1 s) and compares the MEAN delay with maxEventLoopDelay (1000 ms).
  // One busy second among a second of idle 10 ms samples averages far below that, so block
  // the loop several times in a row, yielding only through setImmediate: each turn of the loop
  // then records exactly one ~1.5 s delay sample and the sampler (overdue) runs every turn,
  // so from the second turn on the window it reads holds only long samples.
  const busy = (ms: number): void => { const end = Date.now() + ms; while (Date.now() < end) { /* block the event loop */ } }
  for (let turn = 0; turn < 3; turn++) {
    busy(1500)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  const res = await get(app, '/api/shows')
  const body = expectError(t, res, 503, 'OVERLOADED', 'request under pressure')
  t.match(body.message, /eventLoopDelay/, 'the message says which measure is over its limit')
  t.equal(res.headers['retry-after'], '5', 'Retry-After')

  // It recovers by itself once the loop is idle again (a second or two of normal samples).
  let recovered = false
  for (let i = 0; i < 50 && !recovered; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    recovered = (await get(app, '/api/shows')).statusCode === 200
  }
  t.ok(recovered, 'answers 200 again once the pressure is gone')
})

t.test('request and connection timeouts are configured', async (t) => {
  const app = await buildTestApp(t)
  // What the Node HTTP server itself enforces (Fastify passes its options through).
  t.ok(app.server.requestTimeout > 0, `server.requestTimeout ${app.server.requestTimeout} ms: a slow request is cut off`)
  t.ok(app.server.timeout > 0, `server.timeout (connectionTimeout) ${app.server.timeout} ms: an idle socket is closed`)
  t.ok(app.initialConfig.connectionTimeout !== undefined && app.initialConfig.connectionTimeout > 0, 'initialConfig.connectionTimeout')
  t.equal(app.initialConfig.bodyLimit, BODY_LIMIT, 'bodyLimit 256 KiB')
  t.equal(BODY_LIMIT, 256 * 1024)
})
