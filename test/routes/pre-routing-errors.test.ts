// Every answer in the contract's shape (API.md, Conventions), including the errors the HTTP
// layer raises before any route runs: a bad or over-long path, oversized headers, a request
// Node's parser refuses, JSON of the wrong media type. Each has the full error body, a contract
// code, and the CORS, security and rate-limit headers of any other answer.
import t from 'tap'
import net from 'node:net'
import { STATUS_CODES } from 'node:http'
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb'
import { buildTestApp, createShow, json, signUp } from '../helper.js'
import { expectError, type Tap } from './contract.js'
import { asResponse, parseAnswers, rawExchange } from './raw-http.js'
import { databaseFault, toAppError } from '../../src/plugins/errors.js'

const ORIGIN = 'http://spa.example'

/** The headers every answer carries: CORS for the browser, helmet's, the rate limit's. */
function expectUsualHeaders (t: Tap, headers: Record<string, unknown>, what: string, rateLimited = true): void {
  t.equal(headers['access-control-allow-origin'], ORIGIN, `${what}: CORS header`)
  t.equal(headers['x-content-type-options'], 'nosniff', `${what}: security headers (helmet)`)
  t.ok(typeof headers['content-security-policy'] === 'string', `${what}: content-security-policy`)
  if (rateLimited) t.ok(headers['x-ratelimit-limit'] !== undefined, `${what}: rate-limit headers`)
}

t.test('errors before routing answer the contract', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT: '600', CORS_ORIGIN: ORIGIN })
  const user = await signUp(app, 'prerouting')
  const headers = { origin: ORIGIN, authorization: user.authorization }

  t.test('an over-long id in a path is 400 VALIDATION_ERROR naming it, with the usual headers', async (t) => {
    for (const length of [101, 5000]) {
      const res = await app.inject({ url: `/api/bookings/${'a'.repeat(length)}`, headers })
      const body = expectError(t, res, 400, 'VALIDATION_ERROR', `${length}-character id`)
      t.same(body.details, { field: 'params/id' }, `${length}-character id: details.field`)
      t.match(body.message, /^params\/id /)
      expectUsualHeaders(t, res.headers, `${length}-character id`)
    }
  })

  t.test('a badly percent-encoded path is 400 VALIDATION_ERROR, with the usual headers', async (t) => {
    for (const url of ['/api/shows/%', '/api/shows/%E0%A4%A/seats', '/api/bookings/%zz']) {
      const res = await app.inject({ url, headers })
      const body = expectError(t, res, 400, 'VALIDATION_ERROR', url)
      t.same(body, { statusCode: 400, code: 'VALIDATION_ERROR', error: 'Bad Request', message: 'the URL path is not valid percent-encoding', details: { field: 'url' } }, `${url}: the whole body`)
      expectUsualHeaders(t, res.headers, url)
    }
  })

  t.test('the internal route that answers refusals is not reachable from outside', async (t) => {
    const res = await app.inject({ url: '/__modex/refusal', headers: { ...headers, 'x-modex-refusal': 'guess:400:X:y' } })
    expectError(t, res, 404, 'NOT_FOUND')
  })

  t.test('JSON sent as text/plain is 415 UNSUPPORTED_MEDIA_TYPE', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { origin: ORIGIN, 'content-type': 'text/plain' }, payload: '{"email":"a@b.example","password":"password-123"}' })
    const body = expectError(t, res, 415, 'UNSUPPORTED_MEDIA_TYPE')
    t.notOk(body.message.includes('body must be object'))
    t.equal(res.headers['access-control-allow-origin'], ORIGIN)
  })

  t.test('over a real socket', async (t) => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = (app.server.address() as net.AddressInfo).port

    t.test('a badly percent-encoded path', async (t) => {
      const [answer] = parseAnswers(await rawExchange(port, `GET /api/shows/% HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nConnection: close\r\n\r\n`))
      expectError(t, asResponse(answer), 400, 'VALIDATION_ERROR')
      expectUsualHeaders(t, answer.headers, 'GET /api/shows/%')
    })

    t.test('a 20 KB header is 431 HEADERS_TOO_LARGE with the contract body and security headers', async (t) => {
      const answers = parseAnswers(await rawExchange(port, `GET /health HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`))
      t.equal(answers.length, 1, 'one answer')
      const body = expectError(t, asResponse(answers[0]), 431, 'HEADERS_TOO_LARGE')
      t.same(body, { statusCode: 431, code: 'HEADERS_TOO_LARGE', error: STATUS_CODES[431], message: 'the request headers are too large' })
      // The Origin header is among those never parsed, so there is none to allow; the rest is as usual.
      t.equal(answers[0].headers['x-content-type-options'], 'nosniff', 'security headers (helmet)')
      t.ok(answers[0].headers['x-ratelimit-limit'] !== undefined, 'rate-limit headers')
      t.equal(answers[0].headers.connection, 'close')
    })

    t.test('a content-length shorter than the body: every answer has a contract code', async (t) => {
      const payload = '{"email":"a@b.example","password":"password-123"}'
      const text = await rawExchange(port, `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n${payload}`)
      const answers = parseAnswers(text)
      t.ok(answers.length >= 1, `answered (${text.slice(0, 80)})`)
      for (const answer of answers) {
        t.equal(answer.status, 400, 'a 400')
        expectError(t, asResponse(answer), 400, /^(INVALID_JSON|MALFORMED_REQUEST)$/)
        t.equal(answer.headers['x-content-type-options'], 'nosniff', 'security headers')
      }
    })

    t.test('a request line that is not HTTP is 400 MALFORMED_REQUEST', async (t) => {
      const answers = parseAnswers(await rawExchange(port, 'GARBAGE\r\n\r\n'))
      t.equal(answers.length, 1)
      t.same(JSON.parse(answers[0].body), { statusCode: 400, code: 'MALFORMED_REQUEST', error: 'Bad Request', message: 'the request is not valid HTTP' })
    })
  })
})

t.test('validation messages name allowed values and the field', async (t) => {
  const app = await buildTestApp(t)
  const user = await signUp(app, 'validation')
  const show = await createShow(app, { seating: { totalSeats: 20, seatsPerRow: 10 } })

  t.test('a value outside a fixed set names the values allowed', async (t) => {
    const res = await app.inject({ url: '/api/bookings?status=DONE', headers: { authorization: user.authorization } })
    const body = expectError(t, res, 400, 'VALIDATION_ERROR')
    t.equal(body.message, 'querystring/status must be one of PENDING, CONFIRMED, FAILED, CANCELLED')
    t.same(body.details, { field: 'querystring/status' })
  })

  t.test('11 seat labels (MAX_SEATS_PER_BOOKING 10): 400 naming the field, in details.field too', async (t) => {
    const labels = Array.from({ length: 11 }, (_, i) => `${i < 10 ? 'A' : 'B'}${(i % 10) + 1}`)
    const res = await app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: user.authorization }, payload: { seatLabels: labels } })
    const body = expectError(t, res, 400, 'VALIDATION_ERROR')
    t.match(body.message, /^body\/seatLabels must NOT have more than 10 items/)
    t.same(body.details, { field: 'body/seatLabels' })
  })

  t.test('a validation 400 a service raises carries details.field too', async (t) => {
    const { ADMIN } = await import('../helper.js')
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    const res = await app.inject({
      method: 'POST', url: '/api/admin/shows', headers: { authorization: `Bearer ${json<{ token: string }>(login).token}` },
      payload: { name: 'Past', type: 'EVENT', venue: 'Hall', startTime: new Date(Date.now() - 60_000).toISOString(), seating: { totalSeats: 5 } }
    })
    const body = expectError(t, res, 400, 'VALIDATION_ERROR')
    t.same(body.details, { field: 'body/startTime' }, body.message)
  })

  t.test('a missing property is named as the field', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@b.example' } })
    const body = expectError(t, res, 400, 'VALIDATION_ERROR')
    t.equal(body.message, "body must have required property 'password'")
    t.same(body.details, { field: 'body/password' })
  })

  t.test('the OpenAPI document states the limit the service enforces', async (t) => {
    const doc = json<{ paths: Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }> }>(await app.inject({ url: '/docs/json' }))
    const schema = JSON.stringify(doc.paths['/api/shows/{id}/bookings'].post.requestBody.content['application/json'].schema)
    t.match(schema, /"maxItems":10\b/, 'maxItems 10 (the default MAX_SEATS_PER_BOOKING)')
    t.notMatch(schema, /"maxItems":100\b/, 'not the setting\'s ceiling')
    const small = await buildTestApp(t, { MAX_SEATS_PER_BOOKING: '3' })
    const smallDoc = JSON.stringify(json(await small.inject({ url: '/docs/json' })))
    t.match(smallDoc, /"maxItems":3\b/, 'MAX_SEATS_PER_BOOKING=3 is stated as 3')
  })
})

t.test('database faults are 503 DATABASE_UNAVAILABLE, and one reset socket is not an outage', async (t) => {
  const network = new MongoNetworkError('connection 4 to 127.0.0.1:27017 closed')
  const selection = new MongoServerSelectionError('connect ECONNREFUSED 127.0.0.1:1', { type: 'Unknown', servers: new Map(), stale: false, compatible: true, heartbeatFrequencyMS: 1000, localThresholdMS: 15, setName: null, maxElectionId: null, maxSetVersion: null, commonWireVersion: 0, logicalSessionTimeoutMinutes: null } as unknown as ConstructorParameters<typeof MongoServerSelectionError>[1])
  t.equal(databaseFault(network), 'network')
  t.equal(databaseFault(selection), 'unreachable')
  t.equal(databaseFault(Object.assign(new Error('write failed'), { cause: network })), 'network', 'a wrapped network error')
  t.equal(databaseFault(new Error('E11000 duplicate key')), undefined)
  for (const error of [network, selection]) {
    const answer = toAppError(error)
    t.same(answer.toBody(), { statusCode: 503, code: 'DATABASE_UNAVAILABLE', error: 'Service Unavailable', message: 'the database is unreachable; retry shortly' }, `${error.name}: the contract's 503`)
    t.equal(answer.headers?.['retry-after'], '5', `${error.name}: Retry-After`)
  }

  // On a live app: one failed connection leads to a check, which the database answers.
  const app = await buildTestApp(t)
  app.checkDatabase()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.notOk(app.databaseDown(), 'a network fault with the database answering does not switch the instance to fast 503s')
  const res = await app.inject({ url: '/api/shows' })
  t.equal(res.statusCode, 200, 'requests go on')
})
