// The live seat maps across real instances (two processes on one database), shared by the
// change-stream and the polling test files. Not a test file itself.
import { setTimeout as sleep } from 'node:timers/promises'
import {
  adminToken, call, createShow, isReplicaSet, mintUsers, seatMap, startDatabase, startInstances, waitFor,
  type Answer, type Booking, type CallOptions, type Instance, type SeatMap, type TestLike
} from '../faults/processes.js'
import type { SeatChangesData } from '../../src/schemas/seat-events.js'
import { countsOf, open, replay, type SseStream } from './sse-client.js'

export type Tap = TestLike & {
  test: (name: string, fn: (t: Tap) => Promise<void>) => Promise<unknown>
  equal: (a: unknown, b: unknown, m?: string) => void
  same: (a: unknown, b: unknown, m?: string) => void
  ok: (a: unknown, m?: string) => void
  pass: (m?: string) => void
  skip: (m?: string) => void
}

/** A request retried on a 503 (load shed, or the database suspected down: answered before anything is done), as a client honouring Retry-After would, only sooner. */
async function send<T> (base: string, method: string, path: string, opts: CallOptions): Promise<Answer<T>> {
  for (let i = 0; ; i++) {
    const answer = await call<T>(base, method, path, { timeoutMs: 60_000, ...opts })
    if (answer.status !== 503 || i >= 30) return answer
    await sleep(100 + Math.random() * 200)
  }
}

/** Which source the instance says it uses (its /metrics). */
async function sourceOf (instance: Instance): Promise<string> {
  const text = String((await call<string>(instance.url, 'GET', '/metrics')).body)
  return text.match(/^modex_live_source\{source="([^"]+)"\} 1$/m)?.[1] ?? 'unknown'
}

/**
 * Waits until the replayed map of `streams` (a client's streams in order: a reconnection
 * continues the first) equals `map`, then asserts it (statuses and counts).
 */
async function agrees (t: Tap, streams: SseStream[], map: SeatMap, what: string): Promise<void> {
  const expected = Object.fromEntries(map.seats.map((s) => [s.id, s.status]))
  const events = () => streams.flatMap((s) => s.events)
  const equal = (): boolean => {
    const got = replay(events()).seats
    return map.seats.every((s) => got.get(s.id) === s.status)
  }
  const last = streams[streams.length - 1]
  await last.until(`${what}: the replayed map to equal GET /seats`, equal, 20_000).catch(() => undefined)
  const replayed = replay(events())
  t.same(Object.fromEntries(replayed.seats), expected, `${what}: replayed map = GET /seats`)
  t.same(countsOf(replayed), map.counts, `${what}: counts from the seats`)
  t.same(replayed.counts, map.counts, `${what}: counts the last event gave`)
}

export async function liveScenario (t: Tap, dbArgs: string[], env: Record<string, string>, expected: 'change-stream' | 'polling'): Promise<void> {
  const db = await startDatabase(t, 0, 'db', dbArgs)
  if (expected === 'change-stream' && !await isReplicaSet(db.uri)) {
    t.skip('the embedded database runs standalone here: no change streams to test')
    return
  }
  const common = { uri: db.uri, holdSeconds: 2, sweepSeconds: 1, env }
  const [i1, i2] = await startInstances(t, [{ name: 'I1', ...common }, { name: 'I2', ...common }])
  t.equal(await sourceOf(i1), expected, `I1 uses ${expected}`)
  t.equal(await sourceOf(i2), expected, `I2 uses ${expected}`)
  const admin = await adminToken(i1.url)
  // Accounts written straight into the database (a token's subject must exist), one per hold of the race.
  const users = await mintUsers(db.uri, 304)
  let nextUser = 0
  const mintUserToken = (): { token: string } => users[nextUser++]
  const crossInstance = expected === 'change-stream'

  await t.test('300 racing holds, confirms and cancels on both instances: every subscriber ends with GET /seats', async (t) => {
    // 30-second holds: nothing lapses while the race is answered, so the final map is stable.
    const showId = await createShow(i1.url, admin, 60, 10, 30)
    const labels = (await seatMap(i1.url, showId)).seats.map((s) => s.label)
    const streams = [i1, i2, i1, i2].map((i) => open(i.url, showId))
    t.teardown(() => { for (const s of streams) s.close() })
    for (const s of streams) await s.until('a snapshot', () => s.events.length > 0)

    const answers = await Promise.all(Array.from({ length: 300 }, async (_, k) => {
      const on = k % 2 === 0 ? i1 : i2
      const user = mintUserToken()
      const start = Math.floor(Math.random() * labels.length)
      const want = labels.slice(start, start + 1 + (k % 3))
      const res = await send<Booking>(on.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: want } })
      if (res.status !== 201) return res.status
      // Some winners confirm, some cancel (on the other instance), the rest keep their hold.
      const other = on === i1 ? i2 : i1
      if (k % 3 === 0) await send(other.url, 'POST', `/api/bookings/${res.body.id}/confirm`, { token: user.token, body: {} })
      else if (k % 3 === 1) await send(other.url, 'POST', `/api/bookings/${res.body.id}/cancel`, { token: user.token })
      return 201
    }))
    t.ok(answers.filter((a) => a === 201).length > 0, `some holds won (${answers.filter((a) => a === 201).length} of 300)`)
    t.same(answers.filter((a) => a !== 201 && a !== 409), [], 'every hold answered 201 or 409')
    // Which of the race's holds are kept to the end is chance (the kept ones ask for three seats, the
    // likeliest to lose): one more hold, on a seat left free, is kept for sure. A free seat in I1's map
    // may have been taken through I2 a moment ago: the next free one is tried.
    const keeper = mintUserToken()
    await waitFor('a hold kept to the end', 10_000, async () => {
      for (const seat of (await seatMap(i1.url, showId)).seats.filter((s) => s.status === 'AVAILABLE')) {
        const kept = await send(i2.url, 'POST', `/api/shows/${showId}/bookings`, { token: keeper.token, body: { seatLabels: [seat.label] } })
        if (kept.status === 201) return true
      }
      return undefined
    }, 250)
    // Each instance's map shows the other's last changes within about a second (at once through a
    // change stream; by its next re-read when polling): read until they agree, bounded.
    const final = await waitFor('both instances to serve the same map', 10_000, async () => {
      const [m1, m2] = [await seatMap(i1.url, showId), await seatMap(i2.url, showId)]
      return JSON.stringify(m1.seats) === JSON.stringify(m2.seats) ? m1 : undefined
    }, 250).catch(async () => await seatMap(i1.url, showId))
    t.same(await seatMap(i2.url, showId).then((m) => m.counts), final.counts, 'both instances serve the same map')
    t.ok(final.counts.HELD > 0 && final.counts.BOOKED > 0, `held and booked seats in the final map (${JSON.stringify(final.counts)})`)
    for (const [k, s] of streams.entries()) {
      await agrees(t, [s], final, `subscriber ${k + 1} on ${k % 2 === 0 ? 'I1' : 'I2'}`)
      t.equal(replay(s.events).snapshots, 1, `subscriber ${k + 1}: one snapshot, then changes only`)
    }
  })

  await t.test('expiries and a show cancellation reach the subscribers of both instances', async (t) => {
    const showId = await createShow(i1.url, admin, 10, 10)
    const streams = [open(i1.url, showId), open(i2.url, showId)]
    t.teardown(() => { for (const s of streams) s.close() })
    for (const s of streams) await s.until('a snapshot', () => s.events.length > 0)
    const user = mintUserToken()
    const held = await send<Booking>(i2.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: ['A1', 'A2'] } })
    t.equal(held.status, 201)
    const a1 = held.body.seats[0].id
    // The hold lasts 2 s: each stream must have said HELD at some point, then AVAILABLE.
    const saidHeld = (s: SseStream): boolean => s.events.some((e) => e.event === 'seats' && (JSON.parse(e.data) as SeatChangesData).changes.some((c) => c.id === a1 && c.status === 'HELD'))
    for (const [k, s] of streams.entries()) {
      await s.until(`A1 HELD on I${k + 1}`, () => saidHeld(s))
      await s.until(`A1 AVAILABLE again on I${k + 1} (the hold expired)`, () => saidHeld(s) && replay(s.events).seats.get(a1) === 'AVAILABLE')
    }
    t.pass('a hold and its expiry seen on both')
    await send(i1.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: ['A3'] } })
    const cancelled = await send(i2.url, 'POST', `/api/admin/shows/${showId}/cancel`, { token: admin })
    t.equal(cancelled.status, 200)
    for (const s of streams) await s.until('the show event', () => replay(s.events).showStatus === 'CANCELLED')
    t.pass('the show cancellation seen on both')
    const final = await seatMap(i1.url, showId)
    for (const [k, s] of streams.entries()) await agrees(t, [s], final, `after the cancel, subscriber on I${k + 1}`)
  })

  await t.test('a client of an instance killed with SIGKILL reconnects to the other and continues', async (t) => {
    const [i3] = await startInstances(t, [{ name: 'I3', ...common }])
    const showId = await createShow(i1.url, admin, 20, 10, 30)
    const stream = open(i3.url, showId)
    t.teardown(() => stream.close())
    await stream.until('a snapshot', () => stream.events.length > 0)
    const user = mintUserToken()
    const first = await send<Booking>(i1.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: ['A1'] } })
    await stream.until('A1 HELD', () => replay(stream.events).seats.get(first.body.seats[0].id) === 'HELD')
    const lastId = stream.lastEventId
    i3.child.kill('SIGKILL')
    await i3.child.exited
    await stream.done
    t.ok(stream.ended, 'the stream ended with its instance')
    // Missed while disconnected:
    for (const label of ['B1', 'B2', 'B3']) await send(i2.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: [label] } })
    const resumed = open(i2.url, showId, lastId)
    t.teardown(() => resumed.close())
    await resumed.until('a first event', () => resumed.events.length > 0)
    if (crossInstance) t.equal(resumed.events[0].event, 'seats', 'resumed on the other instance: the missed changes, no snapshot')
    else t.equal(resumed.events[0].event, 'snapshot', 'polling ids are this instance\'s own: the other instance starts with a snapshot')
    await resumed.until('the missed holds', () => replay([...stream.events, ...resumed.events]).counts.HELD === 4)
    await agrees(t, [stream, resumed], await seatMap(i2.url, showId), 'after the resume')

    const old = open(i2.url, showId, '1.0.0')
    t.teardown(() => old.close())
    await old.until('a first event', () => old.events.length > 0)
    t.equal(old.events[0].event, 'snapshot', 'an id older than the instance\'s history: a fresh snapshot')
  })

  await t.test('keep-alive comments on an idle stream; SIGTERM ends streams and does not wait for them', async (t) => {
    const showId = await createShow(i1.url, admin, 5, 5)
    const streams = [open(i2.url, showId), open(i2.url, showId)]
    t.teardown(() => { for (const s of streams) s.close() })
    for (const s of streams) await s.until('a snapshot', () => s.events.length > 0)
    await streams[0].until('a comment line (at least every 15 s)', () => streams[0].comments.length > 0, 16_000)
    t.pass(`a keep-alive comment: ${streams[0].comments[0]}`)
    i2.child.kill('SIGTERM')
    for (const s of streams) await s.done
    t.ok(streams.every((s) => s.ended), 'the streams ended')
    const exit = await i2.child.waitExit(15_000)
    t.same(exit, { code: 0, signal: null }, 'I2 shut down cleanly (close-with-grace did not have to force it)')
    await sleep(0)
  })
}
