// What makes the embedded server a one-member replica set: the logical clock (cluster time),
// the bounded history of changes that change streams read (our "oplog"), and the sessions'
// retryable-write records.
import { Binary, Long, Timestamp } from 'bson'
import { fault } from './errors.js'
import { hashValue, isPlainObject, type Doc } from './values.js'

/** Cluster time as one bigint: seconds in the high 32 bits, the increment in the low 32. */
export type OpTime = bigint

export function toTimestamp(t: OpTime): Timestamp {
  return new Timestamp({ t: Number(t >> 32n), i: Number(t & 0xffffffffn) })
}

export function fromTimestamp(v: unknown): OpTime | undefined {
  if (!(v instanceof Timestamp)) return undefined
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)
}

/** A logical clock that advances with every write, as an oplog's timestamps do. */
export class Clock {
  current: OpTime = 0n

  constructor() {
    this.current = BigInt(Math.floor(Date.now() / 1000)) << 32n
  }

  tick(): OpTime {
    const secs = BigInt(Math.floor(Date.now() / 1000))
    const next = secs > this.current >> 32n ? (secs << 32n) | 1n : this.current + 1n
    this.current = next
    return next
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
  wall: Date
  op: ChangeOp
  db: string
  coll: string | undefined
  id?: unknown
  before?: Doc
  after?: Doc
  to?: { db: string; coll: string }
}

/** A bounded, in-order log of changes: a ring buffer; what falls off is history lost. */
export class ChangeLog {
  private readonly buf: Array<Change | undefined>
  private start = 0
  count = 0
  /** Timestamp of the newest change that fell off (0 when none has). */
  lostUpTo: OpTime = 0n

  constructor(readonly capacity: number) {
    this.buf = new Array<Change | undefined>(capacity)
  }

  append(c: Change): void {
    if (this.count === this.capacity) {
      const old = this.buf[this.start] as Change
      this.lostUpTo = old.ts
      this.buf[this.start] = c
      this.start = (this.start + 1) % this.capacity
      return
    }
    this.buf[(this.start + this.count) % this.capacity] = c
    this.count++
  }

  at(i: number): Change {
    return this.buf[(this.start + i) % this.capacity] as Change
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
  return { _data: '82' + t.toString(16).padStart(16, '0') + (invalidate ? '01' : '00') }
}

export function decodeToken(v: unknown): { ts: OpTime; invalidate: boolean } {
  const data = isPlainObject(v) ? v._data : undefined
  if (typeof data !== 'string' || !/^82[0-9a-fA-F]{16}0[01]$/.test(data)) {
    throw fault(260, 'Invalid resume token: not a token this server issued')
  }
  return { ts: BigInt('0x' + data.slice(2, 18)), invalidate: data.endsWith('01') }
}

/** Retryable writes: https://www.mongodb.com/docs/manual/core/retryable-writes/ */
export class RetryRecords {
  private readonly sessions = new Map<string, { txn: bigint; reply: Doc | undefined; lastUse: number }>()

  /** A reply to return instead of executing, or undefined to execute (and record with `save`). */
  check(lsid: unknown, txnNumber: unknown): { replay?: Doc; save: (reply: Doc) => void } {
    const key = sessionKey(lsid)
    const txn = BigInt(Long.isLong(txnNumber) ? txnNumber.toString() : String(txnNumber))
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
  return hashValue(id)
}
