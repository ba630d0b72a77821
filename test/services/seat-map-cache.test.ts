// The seat-map cache's structured access for best available: the served snapshot's own seats
// (this instance's changes applied in place), and a fresh read shared by concurrent callers.
import t from 'tap'
import { createSeatMapCache, type SeatMapRead } from '../../src/services/seat-map-cache.js'
import type { SeatMap } from '../../src/schemas/show.js'

/** A show's seats as a database would hold them, and a reader of it that counts its reads. */
function database () {
  const statuses = new Map([['s1', 'AVAILABLE'], ['s2', 'AVAILABLE'], ['s3', 'AVAILABLE']] as Array<[string, SeatMap['seats'][number]['status']]>)
  const state = { reads: 0, release: undefined as (() => void) | undefined, gate: undefined as Promise<void> | undefined, failing: 0 }
  const read = async (showId: string): Promise<SeatMap> => {
    state.reads++
    // The next `failing` reads fail (the database unreachable), after their gate.
    const fails = state.failing > 0
    if (fails) state.failing--
    const seats = [...statuses].map(([id, status], i) => ({ id, label: id, row: 'A', number: i + 1, category: 'STANDARD', priceCents: 100, status }))
    if (state.gate !== undefined) await state.gate
    if (fails) throw new Error('database unreachable')
    const counts = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
    for (const s of seats) counts[s.status]++
    return { showId, seats, counts }
  }
  const hold = (): void => { state.gate = new Promise((resolve) => { state.release = resolve }) }
  const open = (): void => { state.release?.(); state.gate = undefined }
  return { statuses, state, read, hold, open }
}

/** Moves on to the next millisecond. */
async function tick (): Promise<void> {
  const at = Date.now()
  while (Date.now() === at) await new Promise((resolve) => setTimeout(resolve, 1))
}

/** A cache over a database() whose map has been served once, a millisecond ago. */
async function servedOnce () {
  const db = database()
  const cache = createSeatMapCache(db.read, 60_000, 120_000)
  await cache.seats('show')
  await tick()
  return { db, cache }
}

t.test('seats(): the served snapshot, read once, this instance\'s changes applied in place', async (t) => {
  const db = database()
  const cache = createSeatMapCache(db.read, 60_000, 120_000)
  const first = await cache.seats('show')
  t.equal(db.state.reads, 1)
  t.same(first.seats.map((s) => s.status), ['AVAILABLE', 'AVAILABLE', 'AVAILABLE'])
  cache.apply('show', ['s2'], 'HELD')
  const second = await cache.seats('show')
  t.equal(db.state.reads, 1, 'served from memory')
  t.equal(second.seats, first.seats, 'the same array: no copy, no JSON')
  t.equal(second.seats[1].status, 'HELD', 'this instance\'s hold is in it at once')
  t.match(JSON.parse((await cache.get('show')).body), { counts: { AVAILABLE: 2, HELD: 1 } }, 'and in the served body')
})

t.test('freshSeats(since): one database read shared by concurrent callers, none when a read began after since', async (t) => {
  const db = database()
  const cache = createSeatMapCache(db.read, 60_000, 120_000)
  const served = await cache.seats('show')
  t.equal(db.state.reads, 1)
  // Another instance takes s1: the served map does not know.
  db.statuses.set('s1', 'HELD')
  t.equal((await cache.seats('show')).seats[0].status, 'AVAILABLE', 'the served map is a moment old')
  await new Promise((resolve) => setTimeout(resolve, 2))
  const since = Date.now()
  db.hold()
  const asks = Array.from({ length: 10 }, async () => await cache.freshSeats('show', since))
  await new Promise((resolve) => setTimeout(resolve, 5))
  db.open()
  const answers = await Promise.all(asks)
  t.equal(db.state.reads, 2, 'ten callers, one more read')
  t.ok(answers.every((a) => a.seats[0].status === 'HELD' && a.readAt >= since), 'each sees the fresh state, read after since')
  t.ok(answers[0].readAt > served.readAt)
  await cache.freshSeats('show', since)
  t.equal(db.state.reads, 2, 'a snapshot read after since serves later callers too')
  t.equal((await cache.seats('show')).seats[0].status, 'HELD', 'and becomes the served map')
  await cache.freshSeats('show', Date.now() + 1)
  t.equal(db.state.reads, 3, 'a later since reads again')
})

t.test('freshSeats(since) while a read that began before since is under way: one read after it, shared by every such caller', async (t) => {
  const { db, cache } = await servedOnce()
  db.hold()
  // A read under way (another caller's), begun before the crowd's losses...
  const early = cache.freshSeats('show', Date.now())
  await tick()
  db.statuses.set('s1', 'HELD')
  // ...then a crowd whose claims lost after it began, each at its own moment.
  const asks: Array<Promise<{ readAt: number, since: number, s1: string }>> = []
  for (let i = 0; i < 5; i++) {
    const since = Date.now()
    asks.push(cache.freshSeats('show', since).then((a) => ({ readAt: a.readAt, since, s1: a.seats[0].status })))
    await tick()
  }
  t.equal(db.state.reads, 2, 'while the early read is out, nothing more is sent')
  db.open()
  await early
  const answers = await Promise.all(asks)
  t.equal(db.state.reads, 3, 'five callers, one read after the early one (not five)')
  t.ok(answers.every((a) => a.readAt >= a.since && a.s1 === 'HELD'), 'each got a read begun after it asked, showing the change')
})

t.test('freshSeats(since) behind a read that fails: the follow-up read is made all the same; a follow-up that fails reaches its callers and the next caller reads again', async (t) => {
  const { db, cache } = await servedOnce()
  db.hold()
  db.state.failing = 1
  const early = cache.freshSeats('show', Date.now())
  await tick()
  const behind = cache.freshSeats('show', Date.now())
  db.open()
  await t.rejects(early, /database unreachable/, 'the early read fails')
  t.equal((await behind).seats.length, 3, 'the caller behind it gets the follow-up read')
  t.equal(db.state.reads, 3)

  await tick()
  db.hold()
  const second = cache.freshSeats('show', Date.now())
  await tick()
  db.state.failing = 1
  const failingFollowUp = cache.freshSeats('show', Date.now())
  db.open()
  await second
  // The follow-up read (the fifth) is made after the gate opened: it fails.
  await t.rejects(failingFollowUp, /database unreachable/, 'a follow-up read that fails reaches its callers')
  t.equal((await cache.freshSeats('show', Date.now() + 1)).seats.length, 3, 'and nothing is wedged: the next caller reads again')
})

t.test('known(): a change of this instance that the database read already reflects is not re-applied over it (a seat freed elsewhere since stays free)', async (t) => {
  // A read that waits (the driver's queue under load) before its query leaves: its seats are of
  // the moment the query was sent (observedAt), not of the moment the read began.
  const statuses = new Map<string, SeatMap['seats'][number]['status']>([['s1', 'AVAILABLE'], ['s2', 'AVAILABLE']])
  let gate: Promise<void> | undefined
  let open = (): void => {}
  const read = async (showId: string): Promise<SeatMapRead> => {
    if (gate !== undefined) await gate
    const observedAt = Date.now()
    const seats = [...statuses].map(([id, status], i) => ({ id, label: id, row: 'A', number: i + 1, category: 'STANDARD', priceCents: 100, status }))
    const counts = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
    for (const s of seats) counts[s.status]++
    return { map: { showId, seats, counts }, heldUntil: new Map(), observedAt }
  }
  const cache = createSeatMapCache(read, 60_000, 120_000)
  await cache.seats('show')
  gate = new Promise((resolve) => { open = resolve })
  await tick()
  const reading = cache.freshSeats('show', Date.now())
  await tick()
  // This instance holds s1 (the database has it HELD, the map is told with its end)...
  statuses.set('s1', 'HELD')
  cache.apply('show', ['s1'], 'HELD', Date.now() + 60_000)
  t.equal(cache.known('show')?.statusOf('s1'), 'HELD')
  await tick()
  // ...then it is freed through another instance (a cancel there, expiry there), before the
  // waiting read's query leaves: that read sees it free.
  statuses.set('s1', 'AVAILABLE')
  await tick()
  gate = undefined
  open()
  await reading
  const known = cache.known('show')
  t.equal(known?.statusOf('s1'), 'AVAILABLE', 'the read saw it free after the hold: the hold is not re-applied over it')
  t.equal(known?.heldUntilOf('s1'), undefined)
})

t.test('known(): a change of this instance after the read\'s query left is applied to it', async (t) => {
  const statuses = new Map<string, SeatMap['seats'][number]['status']>([['s1', 'AVAILABLE']])
  let release = (): void => {}
  let observedAt = 0
  const read = async (showId: string): Promise<SeatMapRead> => {
    observedAt = Date.now()
    const seats = [...statuses].map(([id, status], i) => ({ id, label: id, row: 'A', number: i + 1, category: 'STANDARD', priceCents: 100, status }))
    // The reply is slow: the query was answered with these seats, the hold below lands after.
    await new Promise<void>((resolve) => { release = resolve })
    return { map: { showId, seats, counts: { AVAILABLE: 1, HELD: 0, BOOKED: 0 } }, heldUntil: new Map(), observedAt }
  }
  const cache = createSeatMapCache(read, 60_000, 120_000)
  const first = cache.seats('show')
  while (observedAt === 0 || Date.now() === observedAt) await new Promise((resolve) => setTimeout(resolve, 1))
  statuses.set('s1', 'HELD')
  cache.apply('show', ['s1'], 'HELD', Date.now() + 60_000)
  release()
  await first
  t.equal(cache.known('show')?.statusOf('s1'), 'HELD', 'the own hold the read may have missed is applied')
  t.ok((cache.known('show')?.heldUntilOf('s1') ?? 0) > Date.now())
})
