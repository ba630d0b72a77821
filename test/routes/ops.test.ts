// API.md § Operations and Conventions: health, readiness, metrics, unknown routes.
import t from 'tap'
import { buildTestApp, cancel, confirm, createShow, hold, holdOk, json, signUp } from '../helper.js'
import { expectError } from './contract.js'

/** The value of one un-labelled sample in Prometheus text format. */
function sample (text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  if (line === undefined) throw new Error(`no sample ${name} in the metrics`)
  return Number(line.slice(name.length + 1))
}

t.test('operations', async (t) => {
  const app = await buildTestApp(t)

  t.test('GET /health', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/health' })
    t.equal(res.statusCode, 200)
    t.same(json(res), { status: 'ok' })
  })

  t.test('GET /ready answers 200 while the database answers and the scheduler runs', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/ready' })
    t.equal(res.statusCode, 200)
    t.match(json(res), { status: 'ready' })
  })

  t.test('GET /metrics: Prometheus text with the booking counters, which move', async (t) => {
    const scrape = async () => {
      const res = await app.inject({ method: 'GET', url: '/metrics' })
      t.equal(res.statusCode, 200)
      t.match(res.headers['content-type'], /^text\/plain/)
      return res.body
    }
    const before = await scrape()
    const names = ['modex_holds_total', 'modex_hold_conflicts_total', 'modex_confirmations_total', 'modex_cancellations_total',
      'modex_expirations_total', 'modex_recoveries_total', 'modex_hold_duration_seconds_count']
    for (const name of names) t.ok(Number.isFinite(sample(before, name)), `${name} is exported`)
    t.match(before, /# TYPE modex_holds_total counter/)
    t.match(before, /# TYPE modex_hold_duration_seconds histogram/)
    t.match(before, /modex_hold_duration_seconds_bucket\{le="[^"]+"\} \d+/)

    const show = await createShow(app)
    const user = await signUp(app)
    const a = await holdOk(app, user.authorization, show.id, ['A1'])
    const b = await holdOk(app, user.authorization, show.id, ['A2'])
    t.equal((await hold(app, user.authorization, show.id, { seatLabels: ['A1'] })).statusCode, 409)
    t.equal((await confirm(app, user.authorization, a.id)).statusCode, 200)
    t.equal((await cancel(app, user.authorization, b.id)).statusCode, 200)
    const after = await scrape()
    const delta = (name: string) => sample(after, name) - sample(before, name)
    t.equal(delta('modex_holds_total'), 2, 'two holds made')
    t.equal(delta('modex_hold_conflicts_total'), 1, 'one conflict')
    t.equal(delta('modex_confirmations_total'), 1, 'one confirmation')
    t.equal(delta('modex_cancellations_total'), 1, 'one cancellation')
    t.equal(delta('modex_hold_duration_seconds_count'), 3, 'every hold answer, refused ones too, is timed')
    t.equal(delta('modex_expirations_total'), 0)
  })

  t.test('unknown routes are 404 NOT_FOUND with the error body', async (t) => {
    for (const [method, url] of [['GET', '/nope'], ['GET', '/api/nothing/here'], ['POST', '/api/shows'], ['DELETE', '/api/bookings'], ['GET', '/api/admin']] as const) {
      expectError(t, await app.inject({ method, url }), 404, 'NOT_FOUND', `${method} ${url}`)
    }
  })

  t.test('GET /ready answers 503 when the scheduler has stopped', async (t) => {
    const own = await buildTestApp(t)
    await own.agenda.stop()
    const res = await own.inject({ method: 'GET', url: '/ready' })
    // The contract only pins the status; the body is the usual error body.
    t.equal(res.statusCode, 503)
    t.ok(res.headers['retry-after'] !== undefined, 'Retry-After')
    const body = json<{ statusCode: number, error: string, code: string }>(res)
    t.match(body, { statusCode: 503, error: 'Service Unavailable', code: String })
    t.equal((await own.inject({ method: 'GET', url: '/health' })).statusCode, 200, '/health still answers: the process runs')
  })

  t.test('with the database gone: /ready and data routes answer 503 DATABASE_UNAVAILABLE with Retry-After, at once', async (t) => {
    const own = await buildTestApp(t)
    await own.agenda.stop()
    await own.db.close()
    const ready = await own.inject({ method: 'GET', url: '/ready' })
    t.equal(ready.statusCode, 503)
    t.match(json(ready), { statusCode: 503, code: 'DATABASE_UNAVAILABLE', error: 'Service Unavailable' })
    t.ok(ready.headers['retry-after'] !== undefined, 'Retry-After on /ready')
    const shows = await own.inject({ method: 'GET', url: '/api/shows' })
    expectError(t, shows, 503, 'DATABASE_UNAVAILABLE', 'GET /api/shows')
    t.ok(shows.headers['retry-after'] !== undefined, 'Retry-After on a data route')
  })
})
