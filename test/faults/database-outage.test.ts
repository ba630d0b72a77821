// The database goes away mid-traffic and comes back on the same address: while it is down
// API requests fail fast (503 DATABASE_UNAVAILABLE + Retry-After, no request hangs), /health
// stays 200 and /ready says 503; afterwards the SAME app process recovers by itself.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { auditDatabase } from '../audit.js'
import { ACCESS_CACHE_MS } from '../../src/services/user-service.js'
import {
  adminToken, call, createShow, failureKind, mintUsers, seatMap, startDatabase, startInstances,
  waitFor, type Answer, type Booking, type Failure
} from './processes.js'

const HOLD_SECONDS = 2
const SWEEP_SECONDS = 1
const FAST_MS = 2000 // "answered at once": each 503 while the outage is known, within this
const SLACK_MS = 2000 // a loaded 2-core machine: on top of the promised hold + sweep + 1 s

interface Sample { kind: 'hold' | 'seats', started: number, ms: number, status: number | Failure, code?: string, retryAfter: string | null }

t.test('database outage mid-traffic', async (t) => {
  const db = await startDatabase(t, 0, 'db (first)')
  const [app] = await startInstances(t, [{ name: 'app', uri: db.uri, holdSeconds: HOLD_SECONDS, sweepSeconds: SWEEP_SECONDS }])
  const admin = await adminToken(app.url)
  const showId = await createShow(app.url, admin, 200, 20)
  const seats = (await seatMap(app.url, showId)).seats
  // Accounts for the holds, one per request (requests during the outage never reach the database).
  const holders = await mintUsers(db.uri, 400)

  // Traffic: a few workers looping over holds (one seat each, a fresh user) and seat-map reads,
  // each request with a 10 s deadline so a hung request shows up as a 'timeout'.
  const samples: Sample[] = []
  let traffic = true
  let next = 0
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; traffic; i++) {
      const kind = (i + w) % 2 === 0 ? 'hold' : 'seats'
      const started = Date.now()
      const request = kind === 'hold'
        ? call(app.url, 'POST', `/api/shows/${showId}/bookings`, { token: holders[next % holders.length].token, body: { seatIds: [seats[next++ % seats.length].id] }, timeoutMs: 10_000 })
        : call(app.url, 'GET', `/api/shows/${showId}/seats`, { timeoutMs: 10_000 })
      const answer: Answer | Failure = await request.catch(failureKind)
      samples.push(typeof answer === 'string'
        ? { kind, started, ms: Date.now() - started, status: answer, retryAfter: null }
        : { kind, started, ms: answer.ms, status: answer.status, code: (answer.body as { code?: string }).code, retryAfter: answer.headers.get('retry-after') })
      await sleep(50)
    }
  }
  const workers = Promise.all([0, 1, 2, 3].map(worker))
  t.teardown(() => { traffic = false })

  await waitFor('traffic to flow', 15_000, async () => samples.length >= 20 ? true : undefined)
  const before = samples.length
  t.ok(before > 0 && samples.every((s) => s.status === 201 || s.status === 200 || s.status === 409), `traffic flows before the outage (${before} requests)`)

  // ---- the outage ----
  const killedAt = Date.now()
  db.child.kill('SIGKILL')
  await db.child.waitExit(5000)
  // The driver notices within its heartbeat (1 s) plus a failed reconnect; /ready says so.
  await waitFor('/ready to answer 503', 15_000, async () => (await call(app.url, 'GET', '/ready', { timeoutMs: 10_000 })).status === 503 ? true : undefined)
  const knownDownAt = Date.now()
  t.comment(`outage reported by /ready ${knownDownAt - killedAt} ms after the kill (including /ready's own latency)`)
  // Let the traffic run against the dead database for a while.
  await waitFor('traffic against the dead database', 15_000, async () => samples.filter((s) => s.started >= knownDownAt).length >= 20 ? true : undefined)
  const health = await call(app.url, 'GET', '/health', { timeoutMs: 10_000 })
  t.equal(health.status, 200, '/health is 200 while the database is down')
  t.ok(health.ms <= FAST_MS, `/health answered in ${health.ms} ms`)
  const ready = await call<{ code: string }>(app.url, 'GET', '/ready', { timeoutMs: 10_000 })
  t.equal(ready.status, 503, '/ready is 503 while the database is down')
  t.equal(ready.body.code, 'DATABASE_UNAVAILABLE')
  // Known bug (see the report of issue 5): the readiness ping's timeoutMS does not bound server
  // selection, so /ready waits out serverSelectionTimeoutMS (5 s) before its 503.
  t.ok(ready.ms <= FAST_MS, `/ready answered in ${ready.ms} ms`)
  const downUntil = Date.now()

  // ---- back, on the same port (empty: the embedded database keeps data in memory only) ----
  const restartingAt = Date.now()
  await startDatabase(t, db.port, 'db (restarted)')
  const restartedAt = Date.now()
  await waitFor('/ready to answer 200 again', 15_000, async () => (await call(app.url, 'GET', '/ready', { timeoutMs: 5000 })).status === 200 ? true : undefined)
  t.comment(`/ready 200 again ${Date.now() - restartedAt} ms after the database restarted`)
  t.ok(Date.now() - restartedAt <= 15_000, 'the same process is ready again within 15 s')
  traffic = false
  await workers

  // ---- what happened to the requests ----
  const during = samples.filter((s) => s.started >= killedAt && s.started < downUntil)
  const known = during.filter((s) => s.started >= knownDownAt)
  const summary = (list: Sample[]): string => JSON.stringify(list.reduce<Record<string, number>>((acc, s) => {
    const key = `${s.kind} ${s.status}${s.code !== undefined ? ` ${s.code}` : ''}`
    acc[key] = (acc[key] ?? 0) + 1
    return acc
  }, {}))
  t.comment(`during the outage: ${summary(during)}; slowest ${Math.max(0, ...during.map((s) => s.ms))} ms`)
  t.equal(samples.filter((s) => s.status === 'timeout').length, 0, 'no request hung (no 10 s timeout)')
  t.same(samples.filter((s) => typeof s.status !== 'number'), [], 'every request got an HTTP answer')
  t.same(samples.filter((s) => s.status === 500), [], 'no 500 at any time')
  t.ok(known.length >= 10, `traffic kept going while the outage was known (${known.length} requests)`)
  t.same(known.filter((s) => s.status !== 503 || s.code !== 'DATABASE_UNAVAILABLE'), [], 'every /api request answers 503 DATABASE_UNAVAILABLE')
  t.same(known.filter((s) => s.retryAfter === null), [], 'with a Retry-After header')
  t.same(known.filter((s) => s.ms > FAST_MS), [], `each within ${FAST_MS} ms`)
  // Requests caught in the moment the database died may wait for server selection, but they too
  // end in a 503, unless their wait outlasted the outage: one answered after the restart began was
  // served by the new, empty database (a 404 for the show it no longer has is then right).
  t.same(during.filter((s) => s.started + s.ms < restartingAt && s.status !== 503 && s.status !== 200 && s.status !== 201 && s.status !== 409), [],
    'requests in flight when it died: 503 (or done before), nothing else')

  // ---- full recovery of the same process ----
  // The restarted database is empty: the admin account ensured at start-up is gone (it is
  // ensured only at start-up), and so is the show. Access follows the database, so the old
  // admin token is refused; an operator promotes an account by hand, as with mongosh.
  const user = await call<{ token: string }>(app.url, 'POST', '/api/auth/register', { body: { email: 'back@faults.test', password: 'password-123', name: 'Back' } })
  t.equal(user.status, 201, 'register works again')
  const login = await call<{ token: string }>(app.url, 'POST', '/api/auth/login', { body: { email: 'back@faults.test', password: 'password-123' } })
  t.equal(login.status, 200, 'login works again')
  t.equal((await call(app.url, 'POST', '/api/auth/login', { body: { email: 'admin@faults.test', password: 'admin-password-1' } })).status, 401,
    'the admin account went with the data (it is ensured only at start-up)')
  // The instance may answer who a token is from its cache for ACCESS_CACHE_MS: poll past that.
  const gone = await waitFor('the old admin token to stop working', ACCESS_CACHE_MS + 10_000, async () => {
    const answer = await call<{ code: string }>(app.url, 'GET', '/api/admin/shows', { token: admin })
    return answer.status === 200 ? undefined : answer
  })
  t.equal(gone.status, 401, 'the old admin token is refused: its account went with the data')
  const { MongoClient } = await import('mongodb')
  const client = new MongoClient(db.uri)
  await client.db().collection('users').updateOne({ email: 'back@faults.test' }, { $set: { role: 'ADMIN' } })
  await client.close()
  const newShow = await createShow(app.url, login.body.token, 10)
  const held = await call<Booking>(app.url, 'POST', `/api/shows/${newShow}/bookings`, { token: login.body.token, body: { seatLabels: ['A1', 'A2'] } })
  t.equal(held.status, 201, 'holds work again')
  const lost = await call(app.url, 'POST', `/api/shows/${showId}/bookings`, { token: login.body.token, body: { seatLabels: ['A1'] } })
  t.equal(lost.status, 404, 'the old show is gone with the data')

  // The scheduler recovered too: the new hold lapses on time (its expire-hold job runs).
  const expiresAt = Date.parse(held.body.expiresAt)
  await waitFor('the new hold to lapse', expiresAt - Date.now() + 15_000, async () =>
    (await seatMap(app.url, newShow)).counts.AVAILABLE === 10 ? true : undefined)
  const late = Date.now() - expiresAt
  t.ok(late <= (SWEEP_SECONDS + 1) * 1000 + SLACK_MS, `the hold lapsed ${late} ms after its expiresAt (bound ${(SWEEP_SECONDS + 1) * 1000 + SLACK_MS} ms)`)
  t.same(await auditDatabase(db.uri, newShow, 'lapsed'), [], 'the seat audit finds no seat sold twice and none stuck')

  // Known limitation, recorded rather than hidden: indexes are built once at start-up
  // (mongoose init), so a database that comes back EMPTY has no unique indexes until the app
  // restarts, and e.g. one email can be registered twice. A real MongoDB keeps its data and
  // indexes across an outage, so this only bites when the data itself is lost.
  const again = await call(app.url, 'POST', '/api/auth/register', { body: { email: 'back@faults.test', password: 'password-123', name: 'Twice' } })
  t.equal(again.status, 409, 'the same email cannot register twice after the restart')
})
