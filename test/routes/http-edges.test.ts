// Requests at the edges of HTTP, found by a black-box fuzz (thirteenth session): each is answered
// with the contract's error body (or as an ordinary request), never left hanging or answered by
// Node's bare defaults. Real sockets where Node decides before the app sees the request.
import t from 'tap'
import { adminAuth, buildTestApp, createShow, json, listen } from '../helper.js'
import { expectError } from './contract.js'
import { parseAnswers, rawExchange } from './raw-http.js'

/** The first answer's status and body (the JSON of an error). */
const first = (text: string): { status: number, body: Record<string, unknown> } => {
  const [answer] = parseAnswers(text)
  return { status: answer?.status ?? 0, body: answer === undefined ? {} : JSON.parse(answer.body || '{}') as Record<string, unknown> }
}

t.test('HTTP edges', async (t) => {
  const app = await buildTestApp(t, { OVERDUE_PASS_MS: '0', CORS_ORIGIN: 'http://app.example' })
  const port = Number(new URL(await listen(app)).port)
  const show = await createShow(app)

  t.test('HEAD of a live seat map answers the stream\'s head and ends; of an unknown show, 404', async (t) => {
    const res = await app.inject({ method: 'HEAD', url: `/api/shows/${show.id}/seats/events` })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/event-stream/)
    t.equal(res.body, '')
    const unknown = await app.inject({ method: 'HEAD', url: '/api/shows/0123456789abcdef01234567/seats/events' })
    t.equal(unknown.statusCode, 404)
    // Over a socket: before the fix, a HEAD got no answer at all and held one of the client's stream slots.
    const text = await rawExchange(port, `HEAD /api/shows/${show.id}/seats/events HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`, 5000)
    t.match(text, /^HTTP\/1\.1 200 /, 'answered over a socket')
  })

  t.test('an OPTIONS that is no preflight gets 204 with the CORS headers, not a plain-text 400', async (t) => {
    const res = await app.inject({ method: 'OPTIONS', url: '/api/shows', headers: { origin: 'http://app.example' } })
    t.equal(res.statusCode, 204)
    t.equal(res.headers['access-control-allow-origin'], 'http://app.example')
  })

  t.test('an Expect the server does not support is ignored: the request is answered as any other', async (t) => {
    const text = await rawExchange(port, 'GET /api/shows HTTP/1.1\r\nhost: x\r\nexpect: 200-ok\r\norigin: http://app.example\r\nconnection: close\r\n\r\n', 5000)
    t.equal(first(text).status, 200, text.slice(0, 200))
    t.match(text, /access-control-allow-origin: http:\/\/app\.example/i)
  })

  t.test('an HTTP/1.1 request without Host: 400 MALFORMED_REQUEST with the contract body and headers', async (t) => {
    const text = await rawExchange(port, 'GET /api/shows HTTP/1.1\r\norigin: http://app.example\r\nconnection: close\r\n\r\n', 5000)
    t.equal(first(text).status, 400, text.slice(0, 200))
    t.match(first(text).body, { statusCode: 400, code: 'MALFORMED_REQUEST' })
    t.match(text, /access-control-allow-origin: http:\/\/app\.example/i)
    t.match(text, /x-content-type-options: nosniff/i)
    // HTTP/1.0 needs none.
    t.equal(first(await rawExchange(port, 'GET /api/shows HTTP/1.0\r\n\r\n', 5000)).status, 200)
  })

  t.test('a static path the sender refuses (a NUL byte, a `..` segment) is 404 NOT_FOUND', async (t) => {
    for (const url of ['/web/%00.js', '/web/main.js%00.js', '/web/views/..%2fmain.js', '/docs/static/%00']) {
      expectError(t, await app.inject({ method: 'GET', url }), 404, 'NOT_FOUND', url)
    }
  })

  t.test('a leap second (second 60) is a 400 naming its field, not "a value has the wrong type"', async (t) => {
    const to = await app.inject({ method: 'GET', url: '/api/shows?to=2027-06-30T23:59:60Z' })
    t.match(expectError(t, to, 400, 'VALIDATION_ERROR'), { details: { field: 'querystring/to' } })
    const from = await app.inject({ method: 'GET', url: '/api/shows?from=2027-06-30T23:59:60Z' })
    expectError(t, from, 400, 'VALIDATION_ERROR', 'from')
    const created = await app.inject({
      method: 'POST', url: '/api/admin/shows', headers: await adminAuth(app),
      payload: { name: 'x', type: 'EVENT', startTime: '2027-06-30T23:59:60Z', seating: { totalSeats: 1 } }
    })
    t.match(expectError(t, created, 400, 'VALIDATION_ERROR'), { details: { field: 'body/startTime' } })
    // An ordinary time is fine.
    t.equal(json<{ total: number }>(await app.inject({ method: 'GET', url: '/api/shows?to=2027-06-30T23:59:59Z' })).total, 1)
  })

  t.test('a request whose body stalls gets 408 REQUEST_TIMEOUT at 30 s, not a closed socket at 60 s', async (t) => {
    // Alongside: a GET answered before its announced body came (a first fix of the 408 armed a
    // timer there that threw in the process 30 s later, with nothing listening for its error).
    const answeredEarly = rawExchange(port, 'GET /api/shows HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n', 45_000)
    const started = Date.now()
    const text = await rawExchange(port, 'POST /api/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"email":"a@b', 45_000)
    const closedAfterMs = Date.now() - started
    t.equal(first(text).status, 408, text.slice(0, 200))
    t.match(first(text).body, { statusCode: 408, code: 'REQUEST_TIMEOUT' })
    t.ok(closedAfterMs < 40_000, `answered within the 30-s bound and a check interval (${closedAfterMs} ms)`)
    t.equal(first(await answeredEarly).status, 200, 'the GET was answered')
    t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'and the service is still up')
  })
})
