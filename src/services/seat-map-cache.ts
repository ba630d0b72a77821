import { randomBytes } from 'node:crypto'
import { Types } from 'mongoose'
import type { Models } from '../models/index.js'
import type { SeatStatus } from '../models/seat.js'
import { STANDARD_CATEGORY } from '../models/show.js'
import { notFound } from '../errors.js'
import { onCommandSent } from '../driver-hooks.js'
import type { SeatMap } from '../schemas/show.js'

/** A seat map read from the database this long ago is read again (served meanwhile)... */
export const SEAT_MAP_MAX_AGE_MS = 500
/** ...and one this old is never served: readers wait for the fresh read. */
const SEAT_MAP_HARD_MAX_AGE_MS = 1000

export interface CachedSeatMap {
  /** The serialised JSON body, sent as is. */
  body: string
  /** A strong ETag, quoted: unique per body this instance serves (the same body keeps its tag across re-reads). */
  etag: string
}

/** A seat map's seats as read (and patched since) and the moment the read began. */
/** `readAt`: when the read began; `observedAt`: when the database read the seats (readAt or later, see SeatMapRead). */
export interface SeatSnapshot { seats: readonly SeatMap['seats'][number][], readAt: number, observedAt: number }

/**
 * What a read of a seat map returns to the cache: the map, and the end of each HELD seat's hold
 * (by seat id, ms) where the reader knows it. Kept beside the map, never in it: the map is served
 * as is. `observedAt`: when the seats' query was sent to the database, if the reader knows
 * (every seat's state is of that moment or later); under load it is well after the read began,
 * the time the driver's queue took.
 */
export interface SeatMapRead { map: SeatMap, heldUntil: ReadonlyMap<string, number>, observedAt?: number }

/**
 * What this instance knows of a show's seats right now, without a round trip: the served
 * snapshot (read at most the hard max age ago, this instance's own changes applied since).
 */
export interface KnownSeats {
  /** The seat's status in the snapshot; undefined for a seat it does not list. */
  statusOf: (seatId: string) => SeatStatus | undefined
  /** For a HELD seat, when its hold ends (ms), if known (a change stream's event does not say). */
  heldUntilOf: (seatId: string) => number | undefined
  readAt: number
}

interface Patch { at: number, seatIds: string[], status: SeatStatus, heldUntil?: number }

interface Snapshot {
  map: SeatMap
  /** Seat id → its position in map.seats. */
  index: Map<string, number>
  /**
   * Each seat's JSON, so a change re-serialises one seat, not the map; made when the map is first
   * served as JSON (best available reads the seats themselves and never needs them).
   */
  fragments: Array<string | undefined>
  /** Seat id → the end of its hold (ms), for HELD seats whose end is known. */
  heldUntil: Map<string, number>
  readAt: number
  /** When the database read the seats: readAt, or later when the reader knows (SeatMapRead). */
  observedAt: number
  /** The serialised form, dropped when a patch changes the map. */
  serialised?: CachedSeatMap
}

/** A snapshot seen as KnownSeats: one object per look, not two closures (every refused hold looks). */
class KnownSnapshot implements KnownSeats {
  readonly readAt: number
  constructor (private readonly snapshot: Snapshot) { this.readAt = snapshot.readAt }
  statusOf (seatId: string): SeatStatus | undefined {
    const i = this.snapshot.index.get(seatId)
    return i === undefined ? undefined : this.snapshot.map.seats[i].status
  }

  heldUntilOf (seatId: string): number | undefined {
    return this.snapshot.heldUntil.get(seatId)
  }
}

interface Entry {
  /** Bumped when this instance changed seats in a way it cannot patch: the next read goes to the database. */
  version: number
  snapshot?: Snapshot & { version: number }
  building?: { version: number, startedAt: number, promise: Promise<Snapshot> }
  /** The read that starts when `building` ends, shared by fresh readers for whom `building` began too early (freshSeats). */
  following?: Promise<Snapshot>
  /** This instance's own recent changes, re-applied onto a snapshot whose read began before them. */
  patches: Patch[]
}

/**
 * A short per-instance cache of seat maps, keyed by show.
 *
 * - A map is re-read from the database once it is SEAT_MAP_MAX_AGE_MS old (the old one is
 *   served while that read runs, up to SEAT_MAP_HARD_MAX_AGE_MS), so changes made through
 *   *other* instances show within about 500 ms and never more than 1 s.
 * - Changes made through *this* instance (holds, compensation, confirm, expiry, cancel) are
 *   applied to the cached map at once (`apply`), so whoever wrote through an instance reads
 *   its own change there; changes it cannot describe seat by seat call `invalidate`.
 * - Concurrent readers share one database read; the JSON body and its strong ETag are made
 *   once per change, not once per request.
 */
export function createSeatMapCache (read: (showId: string) => Promise<SeatMap | SeatMapRead>, maxAgeMs = SEAT_MAP_MAX_AGE_MS, hardMaxAgeMs = SEAT_MAP_HARD_MAX_AGE_MS) {
  const entries = new Map<string, Entry>()

  function entryOf (showId: string): Entry {
    let entry = entries.get(showId)
    if (entry === undefined) {
      if (entries.size >= 1000) {
        for (const [id, e] of entries) {
          if (e.building === undefined) {
            entries.delete(id)
            lastServed.delete(id)
          }
        }
      }
      entry = { version: 0, patches: [] }
      entries.set(showId, entry)
    }
    return entry
  }

  function patch (snapshot: Snapshot, p: Patch): void {
    for (const id of p.seatIds) {
      const i = snapshot.index.get(id)
      if (i === undefined) continue
      const seat = snapshot.map.seats[i]
      // A HELD seat keeps the end it had when the patch does not say (an event for the same hold);
      // any other status has none.
      if (p.status !== 'HELD') snapshot.heldUntil.delete(id)
      else if (p.heldUntil !== undefined) snapshot.heldUntil.set(id, p.heldUntil)
      else if (seat.status !== 'HELD') snapshot.heldUntil.delete(id)
      if (seat.status === p.status) continue
      snapshot.map.counts[seat.status]--
      snapshot.map.counts[p.status]++
      seat.status = p.status
      snapshot.fragments[i] = undefined
      snapshot.serialised = undefined
    }
  }

  function startRead (showId: string, entry: Entry): Promise<Snapshot> {
    const version = entry.version
    // One moment for both: a caller joining a read begun at or after its `since` gets readAt ≥ since.
    const readAt = Date.now()
    const promise = (async () => {
      const result = await read(showId)
      const { map, heldUntil, observedAt } = 'map' in result ? result : { map: result, heldUntil: new Map<string, number>(), observedAt: undefined }
      const snapshot: Snapshot = {
        map, index: new Map(map.seats.map((s, i) => [s.id, i])), fragments: new Array<string | undefined>(map.seats.length),
        heldUntil: new Map(heldUntil), readAt, observedAt: Math.max(readAt, observedAt ?? readAt)
      }
      // Changes told after the seats' query left may have landed after the database read them:
      // applied again, in order. Those told before it (a write acknowledged, an event of a commit)
      // are in what the query found, or something newer is: re-applying them would undo a change
      // made elsewhere since (a hold of ours freed through another instance shown HELD again).
      for (const p of entry.patches) if (p.at >= snapshot.observedAt) patch(snapshot, p)
      if (entry.version === version && (entry.snapshot === undefined || entry.snapshot.readAt <= readAt)) {
        entry.snapshot = { ...snapshot, version }
      }
      return snapshot
    })()
    entry.building = { version, startedAt: readAt, promise }
    const clear = () => { if (entry.building?.promise === promise) entry.building = undefined }
    promise.then(clear, clear)
    return promise
  }

  // ETags: this instance's random prefix and a counter, so equal tags always mean equal bodies.
  const tagPrefix = randomBytes(6).toString('base64url')
  let tagCount = 0
  const lastServed = new Map<string, CachedSeatMap>()

  function serialise (showId: string, snapshot: Snapshot): CachedSeatMap {
    if (snapshot.serialised === undefined) {
      // The same text JSON.stringify(map) gives, from the per-seat pieces.
      const { map } = snapshot
      const { fragments } = snapshot
      for (let i = 0; i < fragments.length; i++) fragments[i] ??= JSON.stringify(map.seats[i])
      const body = `{"showId":${JSON.stringify(map.showId)},"seats":[${fragments.join(',')}],"counts":${JSON.stringify(map.counts)}}`
      const previous = lastServed.get(showId)
      snapshot.serialised = previous?.body === body ? previous : { body, etag: `"${tagPrefix}.${(++tagCount).toString(36)}"` }
      lastServed.set(showId, snapshot.serialised)
    }
    return snapshot.serialised
  }

  /** The snapshot to serve now: at most hardMaxAgeMs old, this instance's own changes applied. */
  async function served (showId: string): Promise<Snapshot> {
    const entry = entryOf(showId)
    const { snapshot, building } = entry
    if (snapshot !== undefined && snapshot.version === entry.version) {
      const age = Date.now() - snapshot.readAt
      if (age < maxAgeMs) return snapshot
      if (age < hardMaxAgeMs) {
        // Still within bounds: answer now, refresh in the background (one read at a time).
        if (building === undefined) startRead(showId, entry).catch(() => undefined)
        return snapshot
      }
    }
    // One read at a time per show; readers arriving meanwhile share it.
    if (building !== undefined && building.version === entry.version) return await building.promise
    if (building !== undefined) await building.promise.catch(() => undefined)
    const current = entry.building
    return await (current !== undefined && current.version === entry.version ? current.promise : startRead(showId, entry))
  }

  async function get (showId: string): Promise<CachedSeatMap> {
    // Ids are hex in either case on the way in; every key here is the lower-case form that this
    // instance's changes (ObjectId.toHexString) name, or a request in capitals would be served a
    // map of its own that no change patches.
    const key = showId.toLowerCase()
    return serialise(key, await served(key))
  }

  /**
   * The served map's seats as structured data, for best available: the snapshot's own array, which
   * this instance's changes patch in place (read it synchronously, never keep or change it), and
   * when it was read from the database. No JSON is made or parsed for it.
   */
  async function seats (showId: string): Promise<SeatSnapshot> {
    const snapshot = await served(showId.toLowerCase())
    return { seats: snapshot.map.seats, readAt: snapshot.readAt, observedAt: snapshot.observedAt }
  }

  /**
   * Like `seats`, but read from the database no earlier than `since` (a best-available request
   * that found nothing in the served map, or whose tries ran out). Concurrent callers share
   * reads: a read already started at or after `since` is joined rather than repeated; if the read
   * under way began earlier, the caller waits for the one read that starts when it ends, shared
   * by every caller waiting meanwhile (each of them asked before it began). So a crowd costs one
   * read in flight and one queued per show, whatever its size (plus, rarely, the served map's own
   * refresh begun in between).
   */
  async function freshSeats (showId: string, since: number): Promise<SeatSnapshot> {
    const entry = entryOf(showId)
    const { snapshot, building } = entry
    let read: Snapshot
    if (snapshot !== undefined && snapshot.version === entry.version && snapshot.readAt >= since) read = snapshot
    else if (building !== undefined && building.version === entry.version && building.startedAt >= since) read = await building.promise
    else if (building !== undefined) read = await followingRead(showId, entry, building.promise)
    else read = await startRead(showId, entry)
    return { seats: read.map.seats, readAt: read.readAt, observedAt: read.observedAt }
  }

  function followingRead (showId: string, entry: Entry, after: Promise<Snapshot>): Promise<Snapshot> {
    if (entry.following === undefined) {
      const next: Promise<Snapshot> = after.catch(() => undefined).then(async () => {
        // From here on it is the read under way (building): later callers compare its start with theirs.
        if (entry.following === next) entry.following = undefined
        return await startRead(showId, entry)
      })
      entry.following = next
    }
    return entry.following
  }

  /**
   * What this instance knows of the show's seats now, without a round trip: the snapshot being
   * served if it is current (not invalidated, its seats read by the database less than the hard
   * max age ago, this instance's changes applied since); undefined otherwise. Never starts a read
   * (see refreshIfStale).
   */
  function known (showId: string): KnownSeats | undefined {
    const entry = entries.get(showId)
    const snapshot = entry?.snapshot
    if (entry === undefined || snapshot === undefined || snapshot.version !== entry.version) return undefined
    if (Date.now() - snapshot.observedAt >= hardMaxAgeMs) return undefined
    return new KnownSnapshot(snapshot)
  }

  /**
   * Starts a background read of a show this instance has served a map of, once its seats were read
   * half of maxAgeMs ago (one read at a time); a show never served here is read only when
   * `evenIfNeverServed` (a hold lost in a rush of holds for the show: see explainRefusal). Refused holds
   * call it, so a show in a flash sale keeps a current snapshot that later refusals are answered
   * from: under load a read waits in the driver's queue, so it starts well before the snapshot
   * would stop being current (at most a few reads a second, of one show).
   */
  function refreshIfStale (showId: string, evenIfNeverServed = false): void {
    if (evenIfNeverServed && entries.get(showId)?.snapshot === undefined) {
      // What the show's first GET /seats here would do: the entry first, so this instance's
      // changes from now on are kept for the read to re-apply, then one read.
      const entry = entryOf(showId)
      if (entry.building === undefined) startRead(showId, entry).catch(() => undefined)
      return
    }
    const entry = entries.get(showId)
    if (entry === undefined || entry.snapshot === undefined || entry.building !== undefined) return
    if (entry.snapshot.version === entry.version && Date.now() - entry.snapshot.observedAt < maxAgeMs / 2) return
    startRead(showId, entry).catch(() => undefined)
  }

  /** This instance set these seats of the show to `status` (HELD: until `heldUntil`, ms, when given). */
  function apply (showId: string, seatIds: string[], status: SeatStatus, heldUntil?: number): void {
    const entry = entries.get(showId)
    if (entry === undefined) return
    const now = Date.now()
    const p: Patch = { at: now, seatIds, status, heldUntil }
    // Keep the changes a read still in flight may have missed (reads are short; 2 × max age is ample).
    while (entry.patches.length > 0 && entry.patches[0].at < now - 2 * maxAgeMs) entry.patches.shift()
    entry.patches.push(p)
    if (entry.snapshot !== undefined) patch(entry.snapshot, p)
  }

  /** This instance changed seats of the show in ways it does not list: the next read goes to the database. */
  function invalidate (showId: string): void {
    const entry = entries.get(showId)
    if (entry !== undefined) entry.version++
  }

  return { get, seats, freshSeats, known, refreshIfStale, apply, invalidate }
}
export type SeatMapCache = ReturnType<typeof createSeatMapCache>

/** A show's seat map straight from the database (live seat maps' reader). */
export function seatMapReader (models: Pick<Models, 'Show' | 'Seat'>) {
  const read = seatMapCacheReader(models, false)
  return async function readSeatMap (showId: string): Promise<SeatMap> {
    return (await read(showId)).map
  }
}

/**
 * A show's seats (at most 5,000, API.md) come in the first batch: no getMore, which would wait in
 * the driver's queue again behind a sale's claims (and the map would be older by then).
 */
const MAX_SEATS_READ = 10_000

/**
 * A show's seat map straight from the database, with the end of each HELD seat's hold and when the
 * seats' query was written to its connection (the driver hooks' onCommandSent): the cache's
 * reader, and best available's fresh read.
 */
export function seatMapCacheReader ({ Show, Seat }: Pick<Models, 'Show' | 'Seat'>, observe = true) {
  let reads = 0
  return async function readSeatMap (showId: string): Promise<SeatMapRead> {
    const show = await Show.collection.findOne<{ priceCents?: number }>({ _id: new Types.ObjectId(showId) }, { projection: { priceCents: 1 } })
    if (show === null) throw notFound('SHOW_NOT_FOUND', `show ${showId} does not exist`)
    // Straight through the driver: up to 5,000 documents, no casting or hydration needed.
    // This read's own query, told apart from others by its comment.
    const comment = `seat map read ${++reads}`
    let observedAt: number | undefined
    const stopObserving = observe
      ? onCommandSent(Seat.db.getClient(), (event) => {
        if (observedAt === undefined && event.commandName === 'find' && event.command.comment === comment) observedAt = Date.now()
      })
      : undefined
    let seats
    try {
      seats = await Seat.collection.find<{ _id: Types.ObjectId, label: string, row: string | null, number: number, category?: string | null, priceCents?: number | null, status: SeatStatus, heldUntil?: Date | null }>(
        { showId: new Types.ObjectId(showId) }, { projection: { label: 1, row: 1, number: 1, category: 1, priceCents: 1, status: 1, heldUntil: 1 }, sort: { position: 1 }, batchSize: MAX_SEATS_READ, ...(observe && { comment }) }).toArray()
    } finally {
      stopObserving?.()
    }
    const counts: SeatMap['counts'] = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
    const heldUntil = new Map<string, number>()
    const views = seats.map((s) => {
      counts[s.status]++
      if (s.status === 'HELD' && s.heldUntil instanceof Date) heldUntil.set(s._id.toHexString(), s.heldUntil.getTime())
      // Seats stored before categories have neither: STANDARD at the show's price.
      return { id: s._id.toString(), label: s.label, row: s.row ?? null, number: s.number, category: s.category ?? STANDARD_CATEGORY, priceCents: s.priceCents ?? show.priceCents ?? 0, status: s.status }
    })
    return { map: { showId, seats: views, counts }, heldUntil, observedAt }
  }
}
