// The fan-out's own rules, driven through a source the test controls (positions, lost
// history, a reader that stops reading): what the stream tests cannot provoke on demand.
import t from 'tap'
import pino from 'pino'
import { createMetrics } from '../../src/metrics.js'
import { createSeatStreamHub, type Pos, type SeatEventFeed, type SeatEventSource, type StreamClient } from '../../src/live/seat-stream-hub.js'
import type { SeatMap } from '../../src/schemas/show.js'
import { replay, type SseEvent } from './sse-client.js'

const SHOW = 'aaaaaaaaaaaaaaaaaaaaaaaa'
const seatId = (n: number): string => n.toString(16).padStart(24, '0')

function setup (opts: { bufferSize?: number, maxBufferedBytes?: number, onShowChanged?: (showId: string) => void, onSeatChanges?: (showId: string, seatIds: string[], status: 'AVAILABLE' | 'HELD' | 'BOOKED') => void } = {}) {
  let feed: SeatEventFeed | undefined
  // The database as the reader sees it.
  const db = new Map<string, 'AVAILABLE' | 'HELD' | 'BOOKED'>([1, 2, 3, 4].map((n) => [seatId(n), 'AVAILABLE']))
  const source: SeatEventSource = {
    kind: 'change-stream',
    feedsAllShows: true,
    start: async (f) => { feed = f; return [100, 0, -1] },
    stop: async () => undefined,
    formatId: (pos) => pos.join('.'),
    parseId: (id) => { const p = id.split('.').map(Number); return p.length === 3 && p.every(Number.isInteger) ? [p[0], p[1], p[2]] : undefined }
  }
  const seatMap = async (): Promise<SeatMap> => {
    const seats = [...db].map(([id, status], k) => ({ id, label: `A${k + 1}`, row: 'A', number: k + 1, category: 'STANDARD', priceCents: 1000, status }))
    const counts = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
    for (const s of seats) counts[s.status]++
    return { showId: SHOW, seats, counts }
  }
  const metrics = createMetrics()
  const hub = createSeatStreamHub({ source, reader: { showStatus: async () => 'SCHEDULED', seatMap }, metrics, log: pino({ level: 'silent' }), flushMs: 1, ...opts })
  let t0 = 100
  /** A committed change: in the database and fed to the hub. */
  const change = (n: number, status: 'AVAILABLE' | 'HELD' | 'BOOKED'): Pos => {
    db.set(seatId(n), status)
    const pos: Pos = [++t0, 0, 0]
    feed?.seat(pos, seatId(n), status, Date.now())
    return pos
  }
  return { hub, db, change, metrics, feed: () => feed as SeatEventFeed }
}

/** A client whose frames are parsed as a browser would; `buffered` is what the test says it is. */
function client (backlog = () => 0) {
  const events: SseEvent[] = []
  let ended: string | undefined
  const c: StreamClient = {
    write: (frame) => {
      const text = frame.toString()
      if (!text.includes('data:')) return
      const field = (name: string) => text.match(new RegExp(`^${name}: (.*)$`, 'm'))?.[1]
      events.push({ id: field('id'), event: field('event') ?? 'message', data: field('data') ?? '', at: Date.now() })
    },
    buffered: backlog,
    end: (reason) => { ended = reason }
  }
  return { c, events, ended: () => ended, lastId: () => [...events].reverse().find((e) => e.id !== undefined)?.id }
}

const settle = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 20)) }

t.test('resume from the buffer; a snapshot when the id is older than it', async (t) => {
  const { hub, change } = setup({ bufferSize: 4 })
  await hub.start()
  const a = client()
  const off = await hub.subscribe(SHOW, undefined, a.c)
  change(1, 'HELD')
  await settle()
  t.same(a.events.map((e) => e.event), ['snapshot', 'seats'])
  const seen = a.lastId()
  off()
  change(2, 'HELD')
  change(1, 'BOOKED')
  const b = client()
  await hub.subscribe(SHOW, seen, b.c)
  t.same(b.events.map((e) => e.event), ['seats'], 'resumed: the missed changes, no snapshot')
  const map = replay([...a.events, ...b.events])
  t.same([map.seats.get(seatId(1)), map.seats.get(seatId(2))], ['BOOKED', 'HELD'])
  // Four more changes push `seen` out of a buffer of four.
  for (const n of [3, 4, 3, 4]) change(n, n === 3 ? 'HELD' : 'BOOKED')
  const c = client()
  await hub.subscribe(SHOW, seen, c.c)
  t.same(c.events.map((e) => e.event), ['snapshot'], 'history too old for the buffer: a fresh snapshot')
  await hub.close()
})

t.test('a lost history (resync) gives every subscriber a fresh snapshot of the database', async (t) => {
  const { hub, db, feed } = setup()
  await hub.start()
  const a = client()
  await hub.subscribe(SHOW, undefined, a.c)
  const before = a.lastId()
  // Changes the source never delivered (say, during an outage whose history is gone).
  db.set(seatId(3), 'BOOKED')
  await feed().resync([500, 0, -1], 'test')
  t.same(a.events.map((e) => e.event), ['snapshot', 'snapshot'])
  t.equal(replay(a.events).seats.get(seatId(3)), 'BOOKED', 'the new snapshot has what was missed')
  const b = client()
  await hub.subscribe(SHOW, before, b.c)
  t.equal(b.events[0].event, 'snapshot', 'an id from before the lost history cannot be resumed')
  await hub.close()
})

t.test('a slow reader is dropped, not buffered without bound', async (t) => {
  const { hub, change, metrics } = setup({ maxBufferedBytes: 1000 })
  await hub.start()
  let backlog = 0
  const slow = client(() => backlog)
  const quick = client()
  await hub.subscribe(SHOW, undefined, slow.c)
  await hub.subscribe(SHOW, undefined, quick.c)
  backlog = 5000
  change(1, 'HELD')
  await settle()
  t.equal(slow.ended(), 'slow', 'the slow reader was ended')
  t.equal(quick.events.length, 2, 'the others still get the change')
  t.equal((await metrics.liveDroppedClients.get()).values[0].value, 1, 'counted')
  change(2, 'HELD')
  await settle()
  t.equal(slow.events.length, 1, 'nothing more is written to it')
  await hub.close()
  t.equal(quick.ended(), 'shutdown', 'close ends the streams')
})

t.test('a client resuming ahead of this instance gets only what is after its id', async (t) => {
  const { hub, change, feed } = setup()
  await hub.start()
  const a = client()
  await hub.subscribe(SHOW, undefined, a.c)
  // Another instance already sent this client the change at 102.0.0; this one has seen up to 101.
  change(1, 'HELD')
  const b = client()
  await hub.subscribe(SHOW, '102.0.0', b.c)
  t.same(b.events.map((e) => e.event), [], 'nothing yet: it is ahead')
  feed().seat([102, 0, 0], seatId(2), 'HELD', Date.now())
  feed().seat([103, 0, 0], seatId(3), 'HELD', Date.now())
  await settle()
  t.same(b.events.map((e) => JSON.parse(e.data).changes.map((c: { id: string }) => c.id)), [[seatId(3)]], 'only the change after its id')
  await hub.close()
})

t.test('every show change the source reports reaches onShowChanged, watched or not (the hold path\'s show cache)', async (t) => {
  const changed: string[] = []
  const { hub, feed } = setup({ onShowChanged: (id) => changed.push(id) })
  await hub.start()
  t.teardown(async () => { await hub.close() })
  const other = 'bbbbbbbbbbbbbbbbbbbbbbbb'
  feed().show([200, 0, 0], SHOW, 'CANCELLED', Date.now())
  feed().show([201, 0, 0], other, 'CANCELLED', Date.now())
  t.same(changed, [SHOW, other])
})

t.test('onSeatChanges (the seat-map cache) gets one batch\'s changes so that applied in call order each seat ends at its last status', async (t) => {
  const calls: Array<{ seatIds: string[], status: 'AVAILABLE' | 'HELD' | 'BOOKED' }> = []
  const { hub, db, feed } = setup({ onSeatChanges: (_showId, seatIds, status) => calls.push({ seatIds: [...seatIds], status }) })
  await hub.start()
  t.teardown(async () => { await hub.close() })
  const a = client()
  await hub.subscribe(SHOW, undefined, a.c)
  // One batch, in commit order: seat 2 freed, seat 1 held, then seat 1 freed (the hold given back).
  // Grouped by status, seat 1's AVAILABLE would go with seat 2's (first) and its HELD after it.
  const f = feed()
  let pos = 300
  const commit = (n: number, status: 'AVAILABLE' | 'HELD' | 'BOOKED'): void => { db.set(seatId(n), status); f.seat([++pos, 0, 0], seatId(n), status, Date.now()) }
  commit(2, 'HELD')
  f.flush()
  calls.length = 0
  commit(2, 'AVAILABLE')
  commit(1, 'HELD')
  commit(1, 'AVAILABLE')
  commit(3, 'BOOKED')
  f.flush()
  const map = new Map<string, string>()
  for (const call of calls) for (const id of call.seatIds) map.set(id, call.status)
  t.same([map.get(seatId(1)), map.get(seatId(2)), map.get(seatId(3))], [db.get(seatId(1)), db.get(seatId(2)), db.get(seatId(3))], 'the cache ends where the database is')
  t.equal(map.get(seatId(1)), 'AVAILABLE')
})
