// Issue 13: a show cancelled through instance A stops taking holds on instance B at once, not
// only when B's bookable-show cache (src/services/bookable-show-cache.ts) would re-read it after
// SHOW_CACHE_MAX_AGE_MS: B's live seat maps follow a change stream, and its show events
// invalidate the cache (plugins/live.ts, onShowChanged). Two real instances on the run's
// database, which is a replica set unless TEST_DB_TOPOLOGY=standalone (then: no change streams).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { auditDatabase } from '../audit.js'
import { databaseUri } from '../helper.js'
import {
  adminToken, call, createShow, isReplicaSet, mintUsers, seatMap, startInstances, waitFor, type Answer, type Booking
} from '../faults/processes.js'

const SEATS = 200
/** Holds tried on B after the cancel (one new seat each) before it must have refused one. */
const TRIES = SEATS - 1

const skip = await isReplicaSet(databaseUri()) ? false : 'the test database is standalone: no change stream tells B, only the 500 ms window'

t.test('a show cancelled through A is refused for holds on B at once', { skip }, async (t) => {
  const url = new URL(databaseUri())
  url.pathname = `/modex_test_${randomBytes(6).toString('hex')}`
  const uri = url.toString()
  t.teardown(async () => {
    const { MongoClient } = await import('mongodb')
    const client = new MongoClient(uri)
    await client.db().dropDatabase().catch(() => undefined)
    await client.close()
  })
  const [a, b] = await startInstances(t, [{ name: 'A', uri }, { name: 'B', uri }])
  const admin = await adminToken(a.url)
  const showId = await createShow(a.url, admin, SEATS, 20)
  const labels = (await seatMap(a.url, showId)).seats.map((s) => s.label)
  const users = await mintUsers(uri, TRIES)
  const holdOnB = async (i: number, seatLabels: string[]): Promise<Answer<Booking & { code?: string }>> =>
    await call<Booking & { code?: string }>(b.url, 'POST', `/api/shows/${showId}/bookings`, { token: users[i].token, body: { seatLabels } })

  // B reads the show now (a hold for a seat that does not exist: refused, nothing held), so its
  // cache holds a SCHEDULED show for the next 500 ms: only an invalidation makes it read again.
  const warm = await holdOnB(0, ['ZZ999'])
  t.equal(warm.status, 400, `B has read the show (${warm.body.code ?? ''})`)

  const cancelled = await call<{ status: string }>(a.url, 'POST', `/api/admin/shows/${showId}/cancel`, { token: admin })
  t.equal(cancelled.status, 200, 'A cancels the show')
  t.equal(cancelled.body.status, 'CANCELLED')

  // From the acknowledgement on, B takes no hold: each try a new seat, until B refuses (bounded).
  const answers: Array<{ status: number, code?: string }> = []
  await waitFor('B to refuse a hold', 30_000, async () => {
    if (answers.length >= TRIES) return true
    const answer = await holdOnB(answers.length, [labels[answers.length]])
    answers.push({ status: answer.status, code: answer.body.code })
    return answer.status === 409 ? true : undefined
  }, 0)
  t.same(answers[answers.length - 1], { status: 409, code: 'SHOW_NOT_BOOKABLE' }, 'B refuses: 409 SHOW_NOT_BOOKABLE')
  t.same(answers.filter((a) => a.status === 201), [], `no hold was taken on B after the cancel was acknowledged (${answers.length} tried)`)
  t.same((await seatMap(b.url, showId)).counts, { AVAILABLE: SEATS, HELD: 0, BOOKED: 0 }, 'no seat is held')
  t.same(await auditDatabase(uri, showId), [], 'the seat audit finds nothing wrong')
})
