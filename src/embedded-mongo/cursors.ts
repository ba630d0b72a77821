// Open cursors: the rest of a result set, handed out by getMore.
import { calculateObjectSize, Long } from 'bson'
import { fault } from './errors.js'
import { MAX_BSON } from './wire.js'
import { isPlainObject, toNumber, type Doc } from './values.js'

const DEFAULT_FIRST_BATCH = 101
// MongoDB closes idle cursors after 10 minutes (cursorTimeoutMillis); so do we, so abandoned
// cursors do not pin their result sets in memory forever.
const CURSOR_TIMEOUT_MS = 10 * 60 * 1000
// A getMore without batchSize returns up to ~16 MB, like MongoDB, to stay under maxMessageSizeBytes.
const GETMORE_MAX_BYTES = MAX_BSON

export interface Cursor {
  id: Long
  ns: string
  docs: Doc[]
  pos: number
  lastUsed: number
}

export class Cursors {
  private readonly open = new Map<string, Cursor>()
  private nextCursor = 1000n

  newId(): Long {
    return Long.fromBigInt(this.nextCursor++)
  }

  /** The first batch of `docs`; the rest stays behind a cursor if there is more. */
  reply(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch: boolean): Doc {
    const n = batchSize === undefined ? DEFAULT_FIRST_BATCH : batchSize
    const first = docs.slice(0, n)
    let id = Long.ZERO
    if (!singleBatch && docs.length > first.length) {
      id = this.newId()
      this.open.set(id.toString(), { id, ns, docs, pos: first.length, lastUsed: Date.now() })
    }
    return { cursor: { firstBatch: first, id, ns }, ok: 1 }
  }

  has(id: string): boolean {
    return this.open.has(id)
  }

  getMore(cmd: Doc): Doc {
    const key = String(cmd.getMore)
    const c = this.open.get(key)
    if (c === undefined) throw fault(43, `cursor id ${key} not found`)
    const bs = toNumber(cmd.batchSize)
    let n = bs === undefined || bs <= 0 ? c.docs.length : bs
    if (bs === undefined || bs <= 0) {
      let bytes = 0
      for (let i = c.pos; i < c.docs.length; i++) {
        bytes += calculateObjectSize(c.docs[i])
        if (bytes > GETMORE_MAX_BYTES && i > c.pos) { n = i - c.pos; break }
      }
    }
    c.lastUsed = Date.now()
    const batch = c.docs.slice(c.pos, c.pos + n)
    c.pos += batch.length
    let id = c.id
    if (c.pos >= c.docs.length) {
      this.open.delete(key)
      id = Long.ZERO
    }
    return { cursor: { nextBatch: batch, id, ns: c.ns }, ok: 1 }
  }

  kill(id: string): boolean {
    return this.open.delete(id)
  }

  dropFor(ns: string): void {
    for (const [k, c] of this.open) if (c.ns === ns) this.open.delete(k)
  }

  expire(now = Date.now()): void {
    for (const [k, c] of this.open) if (now - c.lastUsed > CURSOR_TIMEOUT_MS) this.open.delete(k)
  }
}

export function batchSizeOf(cursor: unknown): number | undefined {
  return isPlainObject(cursor) ? toNumber(cursor.batchSize) : undefined
}

export function asLong(v: unknown): Long {
  if (v instanceof Long) return v
  return Long.fromNumber(toNumber(v) ?? 0)
}
