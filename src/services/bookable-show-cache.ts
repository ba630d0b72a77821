import type { Types } from 'mongoose'

/**
 * How long this instance answers holds from a show document it read: the longest a show
 * cancelled or changed through another instance can keep taking holds here when no change
 * stream tells us sooner (the same window as the seat-map cache's). Changes made through this
 * instance, and those a change stream reports, invalidate at once.
 */
export const SHOW_CACHE_MAX_AGE_MS = 500
/** Shows whose seat index is kept; past it the least recently used go (read again when asked). */
const MAX_SHOWS = 1000

/** What a hold needs of its show (with the summary its booking carries: name, type, venue). */
export interface BookableShowDoc {
  _id: Types.ObjectId, status: string, startTime: Date, holdSeconds: number, priceCents: number
  name: string, type: 'MOVIE' | 'BUS' | 'DOCTOR' | 'EVENT', venue?: string | null
  /** Best available's row order and the show's categories (shows made before them have neither). */
  rowPreference?: string[] | null
  categories?: Array<{ name: string, priceCents: number }> | null
}

/** A show's seats by label and by id: labels and ids never change once a show exists. */
export interface SeatIndex {
  idOfLabel: Map<string, Types.ObjectId>
  /** Hex id → label. */
  labelOfId: Map<string, string>
}

interface ShowEntry { readAt: number, version: number, value: Promise<BookableShowDoc | null> }

/**
 * The hold path's per-instance memory of shows (issue 13): the show document, re-read once it is
 * SHOW_CACHE_MAX_AGE_MS old or invalidated, and each show's seat index, read once. Concurrent
 * holds share one read. A read that an invalidation overtook serves the requests that were
 * already waiting for it, and is not kept.
 */
export function createBookableShowCache (
  readShow: (showId: Types.ObjectId) => Promise<BookableShowDoc | null>,
  readSeats: (showId: Types.ObjectId) => Promise<Array<{ _id: Types.ObjectId, label: string }>>,
  maxAgeMs = SHOW_CACHE_MAX_AGE_MS
) {
  const shows = new Map<string, ShowEntry>()
  const versions = new Map<string, number>()
  const seatIndexes = new Map<string, Promise<SeatIndex>>()

  function bounded<V> (map: Map<string, V>): void {
    if (map.size < MAX_SHOWS) return
    // Maps iterate in insertion order and hits re-insert (see below): the first key is the least recently used.
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }

  /** The show as of at most maxAgeMs ago (or since its last invalidation); null if it does not exist. */
  async function show (showId: Types.ObjectId): Promise<BookableShowDoc | null> {
    const key = showId.toHexString()
    const version = versions.get(key) ?? 0
    const cached = shows.get(key)
    if (cached !== undefined && cached.version === version && Date.now() - cached.readAt < maxAgeMs) return await cached.value
    const entry: ShowEntry = { readAt: Date.now(), version, value: readShow(showId) }
    bounded(shows)
    shows.set(key, entry)
    try {
      return await entry.value
    } catch (error) {
      if (shows.get(key) === entry) shows.delete(key)
      throw error
    }
  }

  /** The show changed (status, start, hold time, price): the next hold reads it again. */
  function invalidate (showId: string): void {
    const key = showId.toLowerCase()
    shows.delete(key)
    if (versions.size >= MAX_SHOWS) versions.clear()
    versions.set(key, (versions.get(key) ?? 0) + 1)
  }

  /** The show's seat index, read from the database once per show. */
  async function seats (showId: Types.ObjectId): Promise<SeatIndex> {
    const key = showId.toHexString()
    let index = seatIndexes.get(key)
    if (index !== undefined) {
      seatIndexes.delete(key)
      seatIndexes.set(key, index)
      return await index
    }
    index = readSeats(showId).then((docs) => ({
      idOfLabel: new Map(docs.map((d) => [d.label, d._id])),
      labelOfId: new Map(docs.map((d) => [d._id.toHexString(), d.label]))
    }))
    bounded(seatIndexes)
    seatIndexes.set(key, index)
    try {
      const ready = await index
      // A show whose seats were not there (yet, or any more) is not remembered as seatless.
      if (ready.labelOfId.size === 0 && seatIndexes.get(key) === index) seatIndexes.delete(key)
      return ready
    } catch (error) {
      if (seatIndexes.get(key) === index) seatIndexes.delete(key)
      throw error
    }
  }

  return { show, seats, invalidate }
}
export type BookableShowCache = ReturnType<typeof createBookableShowCache>
