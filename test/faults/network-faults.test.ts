// Network faults between an instance and its database: a proxy resets a random connection
// every 150 ms while 40 users hold, confirm and cancel. A reset connection is not an outage:
// no request answers 500 (a network error is the contract's 503 DATABASE_UNAVAILABLE with
// Retry-After), the instance does not switch to failing everything fast, and the data keeps
// the promise: no seat sold twice, nothing stuck, every acknowledged confirm durable.
import t from 'tap'
import mongoose from 'mongoose'
import { setTimeout as sleep } from 'node:timers/promises'
import { auditSeats } from '../audit.js'
import { createModels } from '../../src/models/index.js'
import { startFaultProxy } from './fault-proxy.js'
import {
  adminToken, call, createShow, failureKind, isReplicaSet, mintUsers, seatMap, startDatabase, startInstances,
  waitFor, type Booking, type Outcome
} from './processes.js'

const USERS = 40
const TRAFFIC_MS = 20_000
const RESET_EVERY_MS = 150
const SEATS = 120
const HOLD_SECONDS = 3

interface Sample { kind: 'hold' | 'confirm' | 'cancel', status: Outcome, code?: string, retryAfter?: string | null }

t.test('a proxy resetting connections between the instance and its database', async (t) => {
  // The database's topology follows the suite's (TEST_DB_TOPOLOGY=standalone: no retryable writes).
  const db = await startDatabase(t, 0, 'db', process.env.TEST_DB_TOPOLOGY === 'standalone' ? ['--standalone'] : [])
  const proxy = await startFaultProxy(t, { host: '127.0.0.1', port: db.port })
  // directConnection: on a replica set the driver would otherwise follow the member's own address
  // from `hello` (the database's port) and go around the proxy.
  const uri = `mongodb://127.0.0.1:${proxy.port}/modex_faults?directConnection=true`
  const [app] = await startInstances(t, [{ name: 'app', uri, holdSeconds: HOLD_SECONDS, sweepSeconds: 1 }])
  const admin = await adminToken(app.url)
  const showId = await createShow(app.url, admin, SEATS, 12)
  const seats = (await seatMap(app.url, showId)).seats

  const samples: Sample[] = []
  const confirmed = new Set<string>()
  const record = (kind: Sample['kind'], answer: Awaited<ReturnType<typeof call>> | Outcome): Sample => {
    const sample: Sample = typeof answer === 'object'
      ? { kind, status: answer.status, code: (answer.body as { code?: string }).code, retryAfter: answer.headers.get('retry-after') }
      : { kind, status: answer }
    samples.push(sample)
    return sample
  }
  let traffic = true
  // Accounts written straight to the database (not through the proxy): a token must name a real account.
  const accounts = await mintUsers(`mongodb://127.0.0.1:${db.port}/modex_faults`, USERS)
  const user = async (_: unknown, i: number): Promise<void> => {
    const { token } = accounts[i]
    while (traffic) {
      const wanted = [seats[Math.floor(Math.random() * seats.length)].id]
      if (Math.random() < 0.5) wanted.push(seats[Math.floor(Math.random() * seats.length)].id)
      const held = await call<Booking>(app.url, 'POST', `/api/shows/${showId}/bookings`, { token, body: { seatIds: [...new Set(wanted)] } }).catch(failureKind)
      record('hold', held)
      if (typeof held === 'object' && held.status === 201) {
        const id = held.body.id
        if (Math.random() < 0.7) {
          const answer = await call<Booking>(app.url, 'POST', `/api/bookings/${id}/confirm`, { token }).catch(failureKind)
          record('confirm', answer)
          if (typeof answer === 'object' && answer.status === 200 && answer.body.status === 'CONFIRMED') {
            confirmed.add(id)
            if (Math.random() < 0.3) record('cancel', await call(app.url, 'POST', `/api/bookings/${id}/cancel`, { token }).catch(failureKind))
            // A cancel that was acknowledged makes the booking CANCELLED; one that failed may or may not have.
          }
        } else {
          record('cancel', await call(app.url, 'POST', `/api/bookings/${id}/cancel`, { token }).catch(failureKind))
        }
      }
      await sleep(20)
    }
  }

  const stopFaults = proxy.resetEvery(RESET_EVERY_MS)
  const users = Promise.all(Array.from({ length: USERS }, user))
  await sleep(TRAFFIC_MS) // the traffic's length is the test: TRAFFIC_MS of resets under load
  traffic = false
  await users
  stopFaults()
  t.comment(`${proxy.resets} connections reset during ${TRAFFIC_MS} ms of traffic`)

  // ---- the answers ----
  const tally: Record<string, number> = {}
  for (const s of samples) {
    const key = `${s.kind} ${String(s.status)}${s.code !== undefined ? ` ${s.code}` : ''}`
    tally[key] = (tally[key] ?? 0) + 1
  }
  t.comment(`answers: ${JSON.stringify(tally)}`)
  const holds = samples.filter((s) => s.kind === 'hold')
  const decided = holds.filter((s) => s.status === 201 || s.status === 409).length
  const share = decided / holds.length
  t.comment(`holds answered 201/409: ${decided} of ${holds.length} (${(100 * share).toFixed(1)} %)`)
  t.ok(proxy.resets >= TRAFFIC_MS / RESET_EVERY_MS / 2, `the proxy did reset connections (${proxy.resets})`)
  t.ok(holds.length >= 200, `traffic flowed (${holds.length} holds)`)
  t.same(samples.filter((s) => s.status === 500), [], 'no 500')
  // Under a reset every 150 ms, a hold now and then (1–2 in ~10,000) took longer than the client's
  // 10 s deadline, and once 40 at a time: a command written to a connection the database had just
  // closed waited forever in the driver (see src/driver-hooks.ts, which fixes it, and
  // test/faults/orderly-close.test.ts). The ≤ 0.1 % margin stays for a machine too loaded to answer
  // within 10 s. None with a 500.
  const unanswered = samples.filter((s) => typeof s.status !== 'number')
  t.ok(unanswered.length <= Math.max(1, samples.length / 1000), `all but ≤ 0.1 % of requests got an HTTP answer within 10 s (${unanswered.length} of ${samples.length} did not)`)
  const unavailable = samples.filter((s) => s.status === 503)
  t.same(unavailable.filter((s) => s.code !== 'DATABASE_UNAVAILABLE' || s.retryAfter === null), [], 'each 503 is DATABASE_UNAVAILABLE with Retry-After')
  t.same(samples.filter((s) => typeof s.status === 'number' && ![200, 201, 409, 503].includes(s.status)), [], 'nothing but 200/201/409/503')
  // A reset cuts the one command in flight on one pooled connection (the driver sends one at a time
  // per connection; on a replica set it retries a write once), so each reset may cost a request or
  // two a 503, however loaded the machine. An instance that switched to fast 503s for a reset
  // connection (the bug this test was written for) answered 39 % of all requests 503, ~17 per
  // reset. The share of holds decided is shown, not asserted: under a loaded machine fewer requests
  // run between resets, so the same per-reset cost is a larger share (78 % seen under a full suite
  // and four other runs on 2 cores; 97–99 % alone).
  const replicaSet = await isReplicaSet(db.uri)
  t.comment(`database: ${replicaSet ? 'replica set (retryable writes)' : 'standalone (reads retried only)'}`)
  t.ok(unavailable.length <= 2 * proxy.resets, `at most two 503s per reset connection (${unavailable.length} for ${proxy.resets} resets; ${(100 * share).toFixed(1)} % of holds decided)`)

  // ---- the data, once every hold has lapsed and the sweep has settled what was left ----
  const direct = await mongoose.createConnection(db.uri, { dbName: 'modex_faults' }).asPromise()
  t.teardown(() => direct.close())
  const models = createModels(direct)
  await waitFor('every hold to be settled', 30_000, async () => {
    const [pending, held] = await Promise.all([
      models.Booking.countDocuments({ showId, status: 'PENDING' }),
      models.Seat.countDocuments({ showId, status: 'HELD' })
    ])
    return pending === 0 && held === 0 ? true : undefined
  }, 500)
  t.same(await auditSeats(models, showId, 'lapsed'), [], 'the seat audit finds nothing: no seat sold twice, none stuck')
  const stored = await models.Booking.find({ _id: { $in: [...confirmed] } }, { status: 1 }).lean<Array<{ status: string }>>()
  t.equal(stored.length, confirmed.size, `every acknowledged confirm is stored (${confirmed.size})`)
  t.same(stored.filter((b) => b.status !== 'CONFIRMED' && b.status !== 'CANCELLED'), [], 'and is CONFIRMED (or was cancelled by its user afterwards)')
  const answer = await call(app.url, 'GET', `/api/shows/${showId}`)
  t.equal(answer.status, 200, 'the instance answers normally once the faults stop')
})
