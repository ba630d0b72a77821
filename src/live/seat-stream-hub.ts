import type { FastifyBaseLogger } from 'fastify'
import type { SeatMap } from '../schemas/show.js'
import type { SeatStatus } from '../models/seat.js'
import type { Metrics } from '../metrics.js'

/**
 * The live-update fan-out (DESIGN.md, Live seat maps): one source of seat and show changes per
 * instance, fanned out in-process to the SSE subscribers of each show.
 *
 * - A watched show's map is kept in memory: read once from the database when its first
 *   subscriber arrives, then kept current by the source's changes. Later subscribers get their
 *   snapshot from it without a database read.
 * - Changes are batched per show (FLUSH_MS) and each batch is serialised and encoded once,
 *   whatever the number of subscribers.
 * - Every change has a position (the source's: a cluster time and a sequence, or a polling tick)
 *   kept in a bounded buffer, so a client reconnecting with Last-Event-ID gets what it missed,
 *   or a fresh snapshot when the buffer no longer reaches back that far.
 * - A reader whose unsent bytes pass MAX_BUFFERED_BYTES is disconnected (it reconnects and
 *   resumes): nothing is buffered for a client without bound.
 */

/** A change's place in the source's order: compared element by element. */
export type Pos = readonly [number, number, number]
export const comparePos = (a: Pos, b: Pos): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
const maxPos = (a: Pos, b: Pos): Pos => comparePos(a, b) >= 0 ? a : b

export type ShowStatus = 'SCHEDULED' | 'CANCELLED'

/** What a source feeds the hub. */
export interface SeatEventFeed {
  /** Seat `seatId` became `status` at `pos` (committed at `committedAt`, epoch ms). Positions only grow. */
  seat: (pos: Pos, seatId: string, status: SeatStatus, committedAt: number) => void
  show: (pos: Pos, showId: string, status: ShowStatus, committedAt: number) => void
  /** Flushes what the calls above queued (a source calls it after each batch it reads). */
  flush: () => void
  /** Changes before `horizon` may have been lost (history lost, a failed resume): every subscriber gets a fresh snapshot. */
  resync: (horizon: Pos, reason: string) => Promise<void>
  /** The shows whose maps are in memory, for a source that reads them itself (polling). */
  watched: () => WatchedShowView[]
  position: () => Pos
}

export interface WatchedShowView {
  showId: string
  seatStatus: (seatId: string) => SeatStatus | undefined
  showStatus: () => ShowStatus
}

export interface SeatEventSource {
  readonly kind: 'change-stream' | 'polling'
  /**
   * true: the source feeds every change of every show, so a show loaded afresh can resume any id
   * the buffer still covers; false (polling): only changes of shows already in memory.
   */
  readonly feedsAllShows: boolean
  /** Starts feeding; resolves once changes flow, with the position from which none are missed. */
  start: (feed: SeatEventFeed) => Promise<Pos>
  stop: () => Promise<void>
  /** A position after every one given so far (polling: a new tick), so a map read afresh gets ids no earlier state had. */
  mark?: () => Pos
  formatId: (pos: Pos) => string
  /** undefined: not an id of this source (or of this instance, for polling). */
  parseId: (id: string) => Pos | undefined
}

/** One SSE client, as the route gives it to the hub. */
export interface StreamClient {
  /** Writes a frame; the hub never awaits it. */
  write: (frame: Buffer) => void
  /** Bytes written but not yet taken by the socket. */
  buffered: () => number
  /** Ends the stream (shutdown) or drops it (slow reader). */
  end: (reason: 'shutdown' | 'slow') => void
}

export interface SeatMapReader {
  /** The show's status (throws the contract's SHOW_NOT_FOUND). */
  showStatus: (showId: string) => Promise<ShowStatus>
  /** The seat map, read from the database (not a cache). */
  seatMap: (showId: string) => Promise<SeatMap>
}

export interface HubOptions {
  source: SeatEventSource
  reader: SeatMapReader
  metrics: Metrics
  log: FastifyBaseLogger
  /** Told of every seat change of a show in memory: the seat-map cache is updated from the same changes. */
  onSeatChanges?: (showId: string, seatIds: string[], status: SeatStatus) => void
  /** Told of every show status change the source reports, watched or not: the hold path's show cache is invalidated from it. */
  onShowChanged?: (showId: string) => void
  /** How many changes the resume buffer keeps. */
  bufferSize?: number
  flushMs?: number
  maxBufferedBytes?: number
  /** A show without subscribers stays in memory this long (a dropped client reconnecting resumes). */
  idleMs?: number
}

export const RETRY_MS = 2000
// Each flush writes once per subscriber of a changed show: batching for 300 ms keeps a flash sale
// watched by thousands to about three writes per subscriber per second, inside the 1 s promise
// (quiet machine, 2,000 subscribers: lag p99 576–763 ms, and holds/s while watched 0.82–0.93 of
// unwatched, against 0.78–0.81 with 200 ms batches).
const FLUSH_MS = 300
const BUFFER_SIZE = 100_000
const MAX_BUFFERED_BYTES = 1024 * 1024
const IDLE_MS = 30_000
const MAX_AHEAD_SECONDS = 10

interface Logged { pos: Pos, seatId?: string, showId?: string, status: SeatStatus | ShowStatus }

interface Subscriber {
  client: StreamClient
  /** Changes at or before this position are already in what the client has. */
  after: Pos
}

interface Pending { pos: Pos, seatId: string, status: SeatStatus, committedAt: number }

interface Watched {
  showId: string
  ready: Promise<void>
  loaded: boolean
  status: ShowStatus
  map: SeatMap
  index: Map<string, number>
  /** The map reflects every change up to here. */
  pos: Pos
  /** Ids at or after this position can be resumed for this show (polling: its load). */
  since: Pos
  subscribers: Set<Subscriber>
  pending: Pending[]
  pendingShow?: { pos: Pos, status: ShowStatus, committedAt: number }
  snapshot?: { pos: Pos, frame: Buffer }
  idleTimer?: NodeJS.Timeout
}

const encode = (id: string | undefined, event: string, data: string): Buffer =>
  Buffer.from(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`)

export function createSeatStreamHub (opts: HubOptions) {
  const { source, reader, metrics, log } = opts
  const bufferSize = opts.bufferSize ?? BUFFER_SIZE
  const flushMs = opts.flushMs ?? FLUSH_MS
  const maxBuffered = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES
  const idleMs = opts.idleMs ?? IDLE_MS

  const shows = new Map<string, Watched>()
  /** seat id → the show in memory it belongs to. */
  const seatShow = new Map<string, Watched>()
  // The resume buffer: a ring of the latest changes, oldest first from `head`.
  const ring: Array<Logged | undefined> = new Array<Logged | undefined>(bufferSize)
  let head = 0
  let size = 0
  /** Every change after this position is in the buffer (or was fed before the buffer wrapped past it). */
  let horizon: Pos = [0, 0, 0]
  let position: Pos = [0, 0, 0]
  let started = false
  let flushTimer: NodeJS.Timeout | undefined
  let closed = false

  function log1 (entry: Logged): void {
    if (size === bufferSize) {
      // The oldest change leaves: ids before it can no longer be resumed here.
      horizon = maxPos(horizon, (ring[head] as Logged).pos)
      ring[head] = entry
      head = (head + 1) % bufferSize
    } else {
      ring[(head + size) % bufferSize] = entry
      size++
    }
  }

  const at = (k: number): Logged => ring[(head + k) % bufferSize] as Logged

  /** The buffered changes after `pos`: positions only grow along the ring, so the first is found by bisection (reconnect storms stay cheap). */
  function * loggedAfter (pos: Pos): Generator<Logged> {
    let lo = 0
    let hi = size
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (comparePos(at(mid).pos, pos) > 0) hi = mid
      else lo = mid + 1
    }
    for (let k = lo; k < size; k++) yield at(k)
  }

  function scheduleFlush (): void {
    if (flushTimer === undefined && !closed) flushTimer = setTimeout(flush, flushMs)
  }

  // ---- the source's side -----------------------------------------------------------------

  const feed: SeatEventFeed = {
    seat (pos, seatId, status, committedAt) {
      position = maxPos(position, pos)
      log1({ pos, seatId, status })
      const watched = seatShow.get(seatId)
      if (watched === undefined) return
      applySeat(watched, seatId, status)
      watched.pos = maxPos(watched.pos, pos)
      watched.pending.push({ pos, seatId, status, committedAt })
      scheduleFlush()
    },
    show (pos, showId, status, committedAt) {
      position = maxPos(position, pos)
      log1({ pos, showId, status })
      opts.onShowChanged?.(showId)
      const watched = shows.get(showId)
      if (watched === undefined || !watched.loaded) return
      watched.pos = maxPos(watched.pos, pos)
      if (watched.status === status) return
      watched.status = status
      watched.snapshot = undefined
      watched.pendingShow = { pos, status, committedAt }
      scheduleFlush()
    },
    flush () { if (!closed) flush() },
    resync,
    watched: () => [...shows.values()].filter((w) => w.loaded).map((w) => ({
      showId: w.showId,
      seatStatus: (seatId: string) => { const i = w.index.get(seatId); return i === undefined ? undefined : w.map.seats[i].status },
      showStatus: () => w.status
    })),
    position: () => position
  }

  function applySeat (watched: Watched, seatId: string, status: SeatStatus): void {
    const i = watched.index.get(seatId)
    if (i === undefined) return
    const seat = watched.map.seats[i]
    if (seat.status === status) return
    watched.map.counts[seat.status]--
    watched.map.counts[status]++
    seat.status = status
    watched.snapshot = undefined
  }

  /** Sends every show's queued changes to its subscribers: one frame per show, encoded once. */
  function flush (): void {
    if (flushTimer !== undefined) clearTimeout(flushTimer)
    flushTimer = undefined
    const now = Date.now()
    for (const watched of shows.values()) {
      // The show's status first: a cancellation comes before the seats it frees (one poll may find both, at one position).
      const change = watched.pendingShow
      if (change !== undefined) {
        watched.pendingShow = undefined
        const frame = showFrame(watched.showId, change.status)
        for (const sub of watched.subscribers) if (comparePos(sub.after, change.pos) < 0) send(watched, sub, frame, 'show')
        metrics.liveLag.observe((now - change.committedAt) / 1000)
      }
      if (watched.pending.length > 0) {
        const batch = watched.pending
        watched.pending = []
        if (opts.onSeatChanges !== undefined) {
          // In commit order, one call per run of changes to the same status: a seat changed twice in
          // one batch (held, then given back) must end at its last status, and a HELD seat that was
          // something else in between must not keep the end of its former hold (the cache's patch).
          let run: { status: SeatStatus, ids: string[] } | undefined
          for (const p of batch) {
            if (run?.status !== p.status) {
              if (run !== undefined) opts.onSeatChanges(watched.showId, run.ids, run.status)
              run = { status: p.status, ids: [] }
            }
            run.ids.push(p.seatId)
          }
          if (run !== undefined) opts.onSeatChanges(watched.showId, run.ids, run.status)
        }
        let shared: Buffer | undefined
        for (const sub of watched.subscribers) {
          if (comparePos(sub.after, batch[0].pos) < 0) {
            shared ??= seatsFrame(watched, batch)
            send(watched, sub, shared, 'seats')
          } else {
            // Resumed ahead of this instance, or snapshotted after part of the batch: only what it lacks.
            const rest = batch.filter((p) => comparePos(p.pos, sub.after) > 0)
            if (rest.length > 0) send(watched, sub, seatsFrame(watched, rest), 'seats')
          }
          sub.after = maxPos(sub.after, batch[batch.length - 1].pos)
        }
        let oldest = now
        for (const p of batch) if (p.committedAt < oldest) oldest = p.committedAt
        metrics.liveLag.observe((now - oldest) / 1000)
      }
    }
    countSent()
  }

  function seatsFrame (watched: Watched, changes: Pending[]): Buffer {
    // `status` is absolute and the latest per seat wins, so a seat listed once, with its current status.
    const latest = new Map<string, SeatStatus>()
    for (const c of changes) latest.set(c.seatId, c.status)
    return encodeSeats(watched, [...latest.keys()], changes[changes.length - 1].pos)
  }

  function encodeSeats (watched: Watched, seatIds: Iterable<string>, pos: Pos): Buffer {
    const list = []
    for (const id of seatIds) {
      const i = watched.index.get(id)
      if (i === undefined) continue
      const seat = watched.map.seats[i]
      list.push({ id, label: seat.label, status: seat.status })
    }
    return encode(source.formatId(pos), 'seats', JSON.stringify({ showId: watched.showId, changes: list, counts: watched.map.counts }))
  }

  const showFrame = (showId: string, status: ShowStatus): Buffer => encode(undefined, 'show', JSON.stringify({ showId, status }))

  function snapshotFrame (watched: Watched): Buffer {
    if (watched.snapshot === undefined || comparePos(watched.snapshot.pos, watched.pos) !== 0) {
      const { map } = watched
      const data = JSON.stringify({ showId: watched.showId, seats: map.seats, counts: map.counts, show: { status: watched.status } })
      watched.snapshot = { pos: watched.pos, frame: encode(source.formatId(watched.pos), 'snapshot', data) }
    }
    return watched.snapshot.frame
  }

  // Events sent, counted per flush and added to the metric once (a label lookup per write would cost more than the write).
  const sent = new Map<string, number>()
  function countSent (): void {
    for (const [event, n] of sent) metrics.liveEvents.inc({ event }, n)
    sent.clear()
  }

  function send (watched: Watched, sub: Subscriber, frame: Buffer, event: string): void {
    if (sub.client.buffered() > maxBuffered) {
      // A reader this far behind would make us hold its backlog without bound: drop it; it resumes on reconnect.
      watched.subscribers.delete(sub)
      metrics.liveDroppedClients.inc()
      sub.client.end('slow')
      return
    }
    sub.client.write(frame)
    sent.set(event, (sent.get(event) ?? 0) + 1)
  }

  // ---- loading a show --------------------------------------------------------------------

  async function load (watched: Watched): Promise<void> {
    // Changes fed while the map is read are in the buffer; those after this position are applied again (statuses are absolute).
    if (source.mark !== undefined) position = maxPos(position, source.mark())
    const readFrom = position
    const [status, map] = await Promise.all([reader.showStatus(watched.showId), reader.seatMap(watched.showId)])
    if (comparePos(horizon, readFrom) > 0) throw new Error('the resume buffer wrapped while a seat map was read')
    watched.status = status
    watched.map = map
    watched.index = new Map(map.seats.map((s, i) => [s.id, i]))
    for (const id of watched.index.keys()) seatShow.set(id, watched)
    for (const entry of loggedAfter(readFrom)) {
      if (entry.seatId !== undefined && watched.index.has(entry.seatId)) applySeat(watched, entry.seatId, entry.status as SeatStatus)
      else if (entry.showId === watched.showId) watched.status = entry.status as ShowStatus
    }
    watched.pos = position
    watched.since = source.feedsAllShows ? horizon : readFrom
    watched.snapshot = undefined
    watched.loaded = true
  }

  function watch (showId: string): Watched {
    let watched = shows.get(showId)
    if (watched === undefined) {
      const w: Watched = {
        showId, ready: Promise.resolve(), loaded: false, status: 'SCHEDULED',
        map: { showId, seats: [], counts: { AVAILABLE: 0, HELD: 0, BOOKED: 0 } }, index: new Map(),
        pos: [0, 0, 0], since: [0, 0, 0], subscribers: new Set(), pending: []
      }
      w.ready = load(w).catch((error: unknown) => {
        forget(w)
        throw error
      })
      shows.set(showId, w)
      watched = w
    }
    if (watched.idleTimer !== undefined) clearTimeout(watched.idleTimer)
    watched.idleTimer = undefined
    return watched
  }

  function forget (watched: Watched): void {
    if (shows.get(watched.showId) !== watched) return
    shows.delete(watched.showId)
    for (const id of watched.index.keys()) if (seatShow.get(id) === watched) seatShow.delete(id)
    if (watched.idleTimer !== undefined) clearTimeout(watched.idleTimer)
  }

  // ---- the route's side ------------------------------------------------------------------

  /**
   * Subscribes a client to a show's changes: a snapshot first, or, with a Last-Event-ID this
   * instance can honour, the changes since. Throws SHOW_NOT_FOUND before writing anything.
   * Returns the unsubscribe function.
   */
  async function subscribe (showId: string, lastEventId: string | undefined, client: StreamClient): Promise<() => void> {
    // Keyed by the lower-case id the change feed names: a second copy of the show under another
    // spelling would take its seats' events over from the first (seatShow keeps one per seat).
    const watched = watch(showId.toLowerCase())
    try {
      await watched.ready
    } catch (error) {
      if (watched.subscribers.size === 0) idle(watched)
      throw error
    }
    const resumeFrom = lastEventId !== undefined ? source.parseId(lastEventId) : undefined
    const sub: Subscriber = { client, after: watched.pos }
    client.write(Buffer.from(`retry: ${RETRY_MS}\n\n`))
    if (resumeFrom !== undefined && comparePos(resumeFrom, watched.since) >= 0 && comparePos(resumeFrom, horizon) >= 0 && plausible(resumeFrom)) {
      replay(watched, sub, resumeFrom)
    } else {
      send(watched, sub, snapshotFrame(watched), 'snapshot')
    }
    countSent()
    watched.subscribers.add(sub)
    metrics.liveStreams.inc()
    let done = false
    return () => {
      if (done) return
      done = true
      metrics.liveStreams.dec()
      watched.subscribers.delete(sub)
      if (watched.subscribers.size === 0) idle(watched)
    }
  }

  /**
   * An id ahead of what this instance has seen is real only when another instance saw a change
   * this one has yet to (cluster time, seconds apart at most); a polling id never is. Anything
   * else gets a snapshot: trusting it would hold back every change up to that made-up position.
   */
  function plausible (from: Pos): boolean {
    if (comparePos(from, position) <= 0) return true
    return source.kind === 'change-stream' && from[0] - position[0] <= MAX_AHEAD_SECONDS
  }

  /** What the client missed since `from`: one `seats` event with those seats' current statuses, and the show's status if it changed. */
  function replay (watched: Watched, sub: Subscriber, from: Pos): void {
    const seats = new Set<string>()
    let showChanged = false
    for (const entry of loggedAfter(from)) {
      if (entry.seatId !== undefined && watched.index.has(entry.seatId)) seats.add(entry.seatId)
      else if (entry.showId === watched.showId) showChanged = true
    }
    // A client ahead of this instance (its last event came from a quicker one) gets nothing now
    // and, from the batches to come, only what is after its id.
    if (comparePos(from, watched.pos) > 0) {
      sub.after = from
      return
    }
    if (seats.size > 0 || showChanged) {
      send(watched, sub, encodeSeats(watched, seats, watched.pos), 'seats')
      if (showChanged) send(watched, sub, showFrame(watched.showId, watched.status), 'show')
    }
    sub.after = watched.pos
  }

  function idle (watched: Watched): void {
    if (watched.idleTimer !== undefined || closed) return
    watched.idleTimer = setTimeout(() => {
      watched.idleTimer = undefined
      if (watched.subscribers.size === 0) forget(watched)
    }, idleMs)
    watched.idleTimer.unref()
  }

  /** Changes before `newHorizon` may be lost: re-read every show in memory and send its subscribers a fresh snapshot. */
  async function resync (newHorizon: Pos, reason: string): Promise<void> {
    log.warn({ reason, shows: shows.size }, 'live seat maps: changes may have been lost; sending fresh snapshots')
    flush()
    size = 0
    head = 0
    horizon = maxPos(horizon, newHorizon)
    position = maxPos(position, newHorizon)
    for (const watched of [...shows.values()]) {
      if (!watched.loaded) continue
      for (;;) {
        try {
          await load(watched)
          break
        } catch (error) {
          if (closed) return
          log.warn({ err: error, showId: watched.showId }, 'live seat maps: could not re-read a seat map; retrying')
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      }
      const frame = snapshotFrame(watched)
      for (const sub of watched.subscribers) {
        send(watched, sub, frame, 'snapshot')
        sub.after = watched.pos
      }
      countSent()
    }
  }

  async function start (): Promise<void> {
    horizon = await source.start(feed)
    position = maxPos(position, horizon)
    started = true
  }

  /** Ends every stream (shutdown: clients reconnect to another instance and resume there). */
  async function close (): Promise<void> {
    closed = true
    if (flushTimer !== undefined) clearTimeout(flushTimer)
    for (const watched of shows.values()) {
      for (const sub of watched.subscribers) sub.client.end('shutdown')
      watched.subscribers.clear()
      if (watched.idleTimer !== undefined) clearTimeout(watched.idleTimer)
    }
    if (started) await source.stop()
  }

  return {
    start,
    close,
    subscribe,
    get kind () { return source.kind },
    /** For tests and metrics: how many shows are in memory. */
    watchedShows: () => shows.size
  }
}
export type SeatStreamHub = ReturnType<typeof createSeatStreamHub>
