// What makes the embedded server a one-member replica set: the logical clock (cluster time),
// the bounded history of changes that change streams read (our "oplog"), and the sessions'
// retryable-write records.
import { Binary, Long, Timestamp } from 'bson'
import { fault } from './errors.js'
import { hashValue, isPlainObject, type Doc } from './values.js'

/**
 * Cluster time as one plain number (bigints cost too much on the write path): seconds times
 * 2^20 plus the increment. Over 2^20 writes in a second the clock runs ahead of the wall
 * clock, which a logical clock may.
 */
export type OpTime = number

const INC = 2 ** 20

export function opSeconds(t: OpTime): number {
  return Math.floor(t / INC)
}

export function toTimestamp(t: OpTime): Timestamp {
  return new Timestamp({ t: Math.floor(t / INC), i: t % INC })
}

export function fromTimestamp(v: unknown): OpTime | undefined {
  if (!(v instanceof Timestamp)) return undefined
  // An increment beyond ours is later than anything in that second.
  return (v.high >>> 0) * INC + Math.min(v.low >>> 0, INC - 1)
}

/** A logical clock that advances with every write, as an oplog's timestamps do. */
export class Clock {
  current: OpTime

  constructor() {
    this.current = Math.floor(Date.now() / 1000) * INC
  }

  tick(): OpTime {
    const floor = Math.floor(Date.now() / 1000) * INC
    this.current = floor > this.current ? floor + 1 : this.current + 1
    return this.current
  }
}

const ZERO_HASH = new Binary(Buffer.alloc(20))

/** The `$clusterTime` every reply of a replica-set member carries (unsigned: no auth here). */
export function clusterTimeDoc(t: OpTime): Doc {
  return { clusterTime: toTimestamp(t), signature: { hash: ZERO_HASH, keyId: Long.ZERO } }
}

export type ChangeOp = 'insert' | 'update' | 'replace' | 'delete' | 'drop' | 'rename' | 'dropDatabase'

/** One entry of the history: stored documents are immutable, so holding them costs no copy. */
export interface Change {
  ts: OpTime
  wall: number
  op: ChangeOp
  db: string
  coll: string | undefined
  id?: unknown
  /** insert/replace: the document stored (fullDocument). */
  after?: Doc
  /** update: what changed (computed at write time, so the old version need not be kept). */
  desc?: Doc
  to?: { db: string; coll: string }
}

/** A bounded, in-order log of changes: a ring buffer; what falls off is history lost. */
export class ChangeLog {
  // Grown by push (a packed array: a preallocated one of holes would be a slow sparse one), then overwritten in place.
  private readonly buf: Change[] = []
  private start = 0
  count = 0
  /** Timestamp of the newest change that fell off (0 when none has). */
  lostUpTo: OpTime = 0

  constructor(readonly capacity: number) {}

  append(c: Change): void {
    if (this.count < this.capacity) {
      this.buf.push(c)
      this.count++
      return
    }
    this.lostUpTo = this.buf[this.start].ts
    this.buf[this.start] = c
    this.start = this.start + 1 === this.capacity ? 0 : this.start + 1
  }

  at(i: number): Change {
    const j = this.start + i
    return this.buf[j >= this.capacity ? j - this.capacity : j]
  }

  /** Index of the first change with ts > t (binary search; ts strictly increase). */
  indexAfter(t: OpTime): number {
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.at(mid).ts <= t) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

// Resume tokens: `{ _data: hex }` as mongod's; ours hold the event's cluster time and whether
// the event is an invalidate (which only `startAfter` may resume from).
export function encodeToken(t: OpTime, invalidate = false): Doc {
  const secs = Math.floor(t / INC).toString(16).padStart(8, '0')
  const inc = (t % INC).toString(16).padStart(8, '0')
  return { _data: '82' + secs + inc + (invalidate ? '01' : '00') }
}

export function decodeToken(v: unknown): { ts: OpTime; invalidate: boolean } {
  const data = isPlainObject(v) ? v._data : undefined
  if (typeof data !== 'string' || !/^82[0-9a-fA-F]{16}0[01]$/.test(data)) {
    throw fault(260, 'Invalid resume token: not a token this server issued')
  }
  const secs = parseInt(data.slice(2, 10), 16)
  const inc = parseInt(data.slice(10, 18), 16)
  if (inc >= INC) throw fault(260, 'Invalid resume token: not a token this server issued')
  return { ts: secs * INC + inc, invalidate: data.endsWith('01') }
}

/** Retryable writes: https://www.mongodb.com/docs/manual/core/retryable-writes/ */
export class RetryRecords {
  private readonly sessions = new Map<string, { txn: number; reply: Doc | undefined; lastUse: number }>()

  /** A reply to return instead of executing, or undefined to execute (and record with `save`). */
  check(lsid: unknown, txnNumber: unknown): { replay?: Doc; save: (reply: Doc) => void } {
    const key = sessionKey(lsid)
    // txnNumbers count up from 1 per session: a double holds them exactly.
    const txn = Long.isLong(txnNumber) ? txnNumber.toNumber() : Number(txnNumber)
    const s = this.sessions.get(key)
    if (s !== undefined && txn < s.txn) {
      throw fault(225, `Retryable write with txnNumber ${txn} is prohibited on session ${key} because a newer retryable write with txnNumber ${s.txn} has already started on this session.`)
    }
    if (s !== undefined && txn === s.txn && s.reply !== undefined) {
      s.lastUse = Date.now()
      return { replay: s.reply, save: () => undefined }
    }
    const rec = { txn, reply: undefined as Doc | undefined, lastUse: Date.now() }
    this.sessions.set(key, rec)
    return { save: (reply) => { if (reply.ok === 1) rec.reply = reply } }
  }

  end(ids: unknown): void {
    if (!Array.isArray(ids)) return
    for (const id of ids) this.sessions.delete(sessionKey(id))
  }

  clear(): void {
    this.sessions.clear()
  }

  /** Sessions expire after logicalSessionTimeoutMinutes (30) of disuse. */
  expire(now = Date.now()): void {
    for (const [k, s] of this.sessions) if (now - s.lastUse > 30 * 60 * 1000) this.sessions.delete(k)
  }
}

function sessionKey(lsid: unknown): string {
  const id = isPlainObject(lsid) ? lsid.id : undefined
  if (id === undefined) throw fault(72, 'A retryable write needs a session id (lsid)')
  // The usual id is a UUID (Binary subtype 4): its hex is key enough and cheaper than a hash.
  if (id instanceof Binary) return id.toString('hex')
  return hashValue(id)
}
