// SIGTERM in the middle of a burst of holds: every answered request is 201, 409 or 503 (a
// refused or reset connection once the server has closed is fine, and counted apart), no
// request hangs, the process exits 0 within its bound, and no seat stays HELD beyond its hold.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { auditDatabase } from '../audit.js'
import {
  adminToken, call, createShow, failureKind, getBooking, mintUsers, seatMap, startDatabase,
  startInstances, waitFor, type Answer, type Booking, type Failure
} from './processes.js'

const HOLD_SECONDS = 2
const SWEEP_SECONDS = 1
const REQUESTS = 200
const USERS = 50
const BURST_MS = 1000
const SIGTERM_AT_MS = 500
const EXIT_BOUND_MS = 12_000 // close-with-grace gives up after 10 s; the process must be gone by then
const SLACK_MS = 2000 // a loaded 2-core machine: on top of the promised SWEEP_SECONDS + 1 s

t.test('SIGTERM during a burst of holds', async (t) => {
  const db = await startDatabase(t)
  const common = { uri: db.uri, holdSeconds: HOLD_SECONDS, sweepSeconds: SWEEP_SECONDS }
  const [first] = await startInstances(t, [{ name: 'first', ...common, env: { LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn' } }])
  const admin = await adminToken(first.url)
  const showId = await createShow(first.url, admin, 120, 12)
  const labels = (await seatMap(first.url, showId)).seats.map((s) => s.label)
  const users = await mintUsers(db.uri, USERS)

  // 200 holds of 1–3 random seats from 50 users, spread over ~1 s; SIGTERM half-way through.
  let sigtermAt = 0
  const burstStart = Date.now()
  const answers = await Promise.all([
    ...Array.from({ length: REQUESTS }, async (_, i): Promise<{ answer: Answer<Booking> | Failure, token: string, sent: number, done: number }> => {
      // The burst's shape is what is under test: requests spread over BURST_MS, SIGTERM amid them.
      await sleep((i * BURST_MS) / REQUESTS)
      const wanted = new Set<string>()
      const count = 1 + (i % 3)
      while (wanted.size < count) wanted.add(labels[Math.floor(Math.random() * labels.length)])
      const token = users[i % USERS].token
      const sent = Date.now()
      const answer = await call<Booking>(first.url, 'POST', `/api/shows/${showId}/bookings`, { token, body: { seatLabels: [...wanted] }, timeoutMs: 15_000 })
        .catch(failureKind)
      return { answer, token, sent, done: Date.now() }
    }),
    sleep(SIGTERM_AT_MS).then(() => {
      sigtermAt = Date.now()
      first.child.kill('SIGTERM')
      return { answer: 'other' as const, token: 'the SIGTERM itself, not a request', sent: 0, done: 0 }
    })
  ])
  const requests = answers.filter((a) => a.token !== 'the SIGTERM itself, not a request')
  t.comment(`burst took ${Date.now() - burstStart} ms; SIGTERM at +${sigtermAt - burstStart} ms`)

  // Per outcome: how many, and when they were sent and answered relative to the SIGTERM.
  const tally: Record<string, { n: number, sent: [number, number], done: [number, number] }> = {}
  for (const { answer, sent, done } of requests) {
    const key = typeof answer === 'string' ? answer : `${answer.status}${answer.status >= 400 ? ` ${(answer.body as { code?: string }).code ?? ''}` : ''}`
    const entry = tally[key] ??= { n: 0, sent: [Infinity, -Infinity], done: [Infinity, -Infinity] }
    entry.n++
    entry.sent = [Math.min(entry.sent[0], sent - sigtermAt), Math.max(entry.sent[1], sent - sigtermAt)]
    entry.done = [Math.min(entry.done[0], done - sigtermAt), Math.max(entry.done[1], done - sigtermAt)]
  }
  t.comment(`outcomes (ms relative to SIGTERM): ${JSON.stringify(tally)}`)
  const answered = requests.flatMap(({ answer }) => typeof answer === 'string' ? [] : [answer])
  const unanswered = requests.flatMap(({ answer }) => typeof answer === 'string' ? [answer] : [])
  t.equal(requests.length, REQUESTS)
  t.same(answered.filter((a) => ![201, 409, 503].includes(a.status)).map((a) => `${a.status} ${JSON.stringify(a.body)}`), [],
    'every answered request is 201, 409 or 503 (no 500)')
  t.same(answered.filter((a) => a.status === 409 && (a.body as { code?: string }).code !== 'SEATS_UNAVAILABLE'), [], 'the 409s are SEATS_UNAVAILABLE')
  // Known gap (see the report of issue 5): a request arriving while Fastify closes gets Fastify's
  // own 503 (return503OnClosing), whose body has no `code` and which has no Retry-After.
  const bare503 = answered.filter((a) => a.status === 503 && ((a.body as { code?: string }).code === undefined || a.headers.get('retry-after') === null))
  t.equal(bare503.length, 0, 'every 503 has the contract\'s error body (code) and Retry-After')
  t.equal(unanswered.filter((f) => f === 'timeout').length, 0, 'no request hung')
  t.same(unanswered.filter((f) => f !== 'refused' && f !== 'reset'), [], 'unanswered ones were refused or reset after the close, nothing else')
  t.ok(answered.some((a) => a.status === 201), 'some holds were taken before the shutdown')

  const exit = await first.child.waitExit(Math.max(0, sigtermAt + EXIT_BOUND_MS - Date.now()))
  t.same(exit, { code: 0, signal: null }, `the process exited 0 within ${EXIT_BOUND_MS} ms of SIGTERM`)
  if (exit !== undefined) t.comment(`exited ${Date.now() - sigtermAt} ms after SIGTERM (or earlier)`)

  // A second instance on the same database takes over whatever the first left behind.
  const [second] = await startInstances(t, [{ name: 'second', ...common }])
  const readyAt = Date.now()
  const held = answered.filter((a) => a.status === 201).map((a) => a.body)
  const latestExpiry = Math.max(...held.map((b) => Date.parse(b.expiresAt)))
  // The promise: no seat HELD beyond its hold + SWEEP_SECONDS + 1 s, counted from its
  // expiresAt or, since nothing can settle anything while no instance runs, from when the
  // second instance is ready, whichever is later.
  const from = Math.max(latestExpiry, readyAt)
  const bound = (SWEEP_SECONDS + 1) * 1000 + SLACK_MS
  await waitFor('no seat HELD', from - Date.now() + bound + 10_000, async () =>
    (await seatMap(second.url, showId)).counts.HELD === 0 ? true : undefined)
  const late = Date.now() - from
  t.ok(late <= bound, `no seat HELD ${late} ms after the later of the last expiresAt and the second instance's start (bound ${bound} ms)`)
  const map = await seatMap(second.url, showId)
  t.same(map.counts, { AVAILABLE: labels.length, HELD: 0, BOOKED: 0 }, 'every seat AVAILABLE (no hold was confirmed)')

  const tokenOf = new Map(requests.flatMap(({ answer, token }) => typeof answer !== 'string' && answer.status === 201 ? [[answer.body.id, token]] : []))
  const finals = await Promise.all(held.map(async (b) => (await getBooking(second.url, tokenOf.get(b.id) ?? '', b.id)).status))
  t.ok(finals.every((s) => s === 'FAILED'), `every one of the ${held.length} holds ended FAILED`)
  t.same(await auditDatabase(db.uri, showId, 'lapsed'), [], 'the seat audit finds no seat sold twice and none stuck')
})
