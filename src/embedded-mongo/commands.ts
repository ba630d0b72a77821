// The command layer: a table from command name to handler (one file per command family in
// handlers/). Every command's reads and writes run synchronously from start to finish, so they
// can never interleave with another client's (single-document atomicity and isolation, as
// MongoDB promises: https://www.mongodb.com/docs/manual/core/write-operations-atomicity/).
import { Catalogue } from './catalogue.js'
import { Cursors } from './cursors.js'
import { fault, MongoServerFault } from './errors.js'
import { adminHandlers } from './handlers/admin.js'
import { aggregateHandlers } from './handlers/aggregate.js'
import { collectionHandlers } from './handlers/collections.js'
import type { ConnectionInfo, Handler } from './handlers/common.js'
import { deleteHandlers } from './handlers/delete.js'
import { findAndModifyHandlers } from './handlers/find-and-modify.js'
import { findHandlers } from './handlers/find.js'
import { indexHandlers } from './handlers/indexes.js'
import { insertHandlers } from './handlers/insert.js'
import { updateHandlers } from './handlers/update.js'
import { ObjectId } from 'bson'
import { ChangeLog, CLUSTER_TIME, Clock, fromTimestamp, RetryRecords, type ChangeOp, type SessionRecord, type Stamped } from './replication.js'
import type { StreamCursor } from './streams.js'
import { isPlainObject, toNumber, type Doc } from './values.js'

export type { ConnectionInfo } from './handlers/common.js'

const COMMANDS: Record<string, Handler> = {
  ...adminHandlers,
  ...collectionHandlers,
  ...findHandlers,
  ...insertHandlers,
  ...updateHandlers,
  ...deleteHandlers,
  ...findAndModifyHandlers,
  ...aggregateHandlers,
  ...indexHandlers,
}

/** Replica-set mode unless `replSet` is undefined (standalone). */
export interface EngineOptions {
  replSet?: string
  /** How many changes the history keeps for change streams (replica-set mode). */
  historySize?: number
}

export const DEFAULT_HISTORY_SIZE = 100_000

const TXN_COMMANDS = new Set(['insert', 'update', 'delete', 'findAndModify', 'findandmodify'])
const WRITE_COMMANDS = new Set([...TXN_COMMANDS, 'create', 'drop', 'dropDatabase', 'renameCollection', 'createIndexes', 'dropIndexes', 'deleteIndexes'])
const READ_CONCERN_COMMANDS = new Set(['find', 'aggregate', 'count', 'distinct', 'listCollections', 'listIndexes'])

export class Engine {
  readonly catalogue = new Catalogue()
  readonly cursors = new Cursors()
  readonly startedAt = Date.now()
  readonly replSet: string | undefined
  /** The logical clock (cluster time); ticks only in replica-set mode. */
  readonly clock = new Clock()
  /** The change history change streams read; undefined for a standalone. */
  readonly history: ChangeLog | undefined
  readonly retries = new RetryRecords()
  readonly streams = new Map<string, StreamCursor>()
  /** Change-stream getMores waiting for a write (each re-checks its stream when woken). */
  readonly waiters = new Set<() => void>()
  /** Awaitable hellos and other timed waits, ended early by stop(). */
  private readonly sleepers = new Set<() => void>()
  /** `host:port` of this member (hello's me/primary/hosts), set once listening. */
  me = ''
  readonly processId = new ObjectId()
  readonly electionId = new ObjectId('7fffffff0000000000000001')
  private ttlTimer: NodeJS.Timeout | undefined
  private wakeScheduled = false
  stopped = false
  connections = 0

  constructor(opts: EngineOptions = {}) {
    this.replSet = opts.replSet
    this.history = opts.replSet === undefined ? undefined : new ChangeLog(opts.historySize ?? DEFAULT_HISTORY_SIZE)
  }

  startTtlMonitor(intervalMs = 1000): void {
    // MongoDB's TTL monitor runs every 60 s; checking every second keeps tests and holds snappy.
    this.ttlTimer = setInterval(() => {
      this.expireTtl()
      this.cursors.expire()
      this.expireStreams()
      this.retries.expire()
    }, intervalMs)
    this.ttlTimer.unref()
  }

  stop(): void {
    this.stopped = true
    if (this.ttlTimer !== undefined) clearInterval(this.ttlTimer)
    this.ttlTimer = undefined
    for (const wake of [...this.sleepers]) wake()
  }

  /** Resolves after `ms`, or at once when the server stops. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.sleepers.add(wake)
    })
  }

  /** Deletes documents whose TTL-indexed date is older than expireAfterSeconds. */
  expireTtl(now = Date.now()): number {
    const n = this.catalogue.expireTtl(now, (c, r) => this.record('delete', c.db, c.name, r.doc._id))
    if (n > 0) this.wake()
    return n
  }

  private expireStreams(now = Date.now()): void {
    for (const [k, c] of this.streams) if (now - c.lastUsed > 10 * 60 * 1000) this.streams.delete(k)
  }

  /** Records one change (replica-set mode); each gets its own cluster time, in commit order. */
  record(op: ChangeOp, db: string, coll: string | undefined, id?: unknown, before?: Doc, after?: Doc, to?: { db: string; coll: string }): void {
    if (this.history === undefined) return
    // References only: the update description is built when (if ever) a stream reads the change.
    const ts = this.clock.tick()
    this.history.append(ts, this.clock.wall, op, db, coll, id, op === 'update' ? before : undefined, after, to)
  }

  killCursor(id: string): boolean {
    if (this.streams.delete(id)) return true
    return this.cursors.kill(id)
  }

  /** Lets waiting change-stream getMores look at what was just written (once per turn). */
  private wake(): void {
    if (this.wakeScheduled || this.waiters.size === 0) return
    this.wakeScheduled = true
    setImmediate(() => {
      this.wakeScheduled = false
      for (const w of [...this.waiters]) w()
    })
  }

  run(db: string, cmd: Doc, conn: ConnectionInfo): Doc | Promise<Doc> {
    const before = this.clock.current
    let retry: SessionRecord | undefined
    let reply: Doc | Promise<Doc>
    let name: string | undefined
    try {
      name = Object.keys(cmd)[0]
      if (name === undefined) throw fault(59, 'no such command: \'\'')
      if (this.replSet === undefined) {
        if ('txnNumber' in cmd || 'startTransaction' in cmd || 'autocommit' in cmd) {
          // What a real standalone mongod answers: https://www.mongodb.com/docs/manual/core/transactions/
          throw fault(20, 'Transaction numbers are only allowed on a replica set member or mongos')
        }
      } else {
        if ('startTransaction' in cmd || 'autocommit' in cmd) throw fault(263, TXN_REFUSED)
        if ('txnNumber' in cmd) {
          if (!TXN_COMMANDS.has(name)) throw fault(50768, `txnNumber may only be provided for multi-document transactions and retryable write commands. autocommit:false was not provided, and ${name} is not a retryable write command.`)
          retry = this.retries.check(cmd.lsid, cmd.txnNumber)
          // The same (lsid, txnNumber) again: the first reply, without executing again.
          if (retry.reply !== undefined) return this.decorate(retry.reply)
        }
      }
      if (READ_CONCERN_COMMANDS.has(name) && cmd.readConcern !== undefined) this.checkReadConcern(cmd.readConcern)
      const h = COMMANDS[name] ?? COMMANDS[name.toLowerCase()]
      if (h === undefined) throw fault(59, `no such command: '${name}'`)
      reply = h(this, db, cmd, conn)
    } catch (e) {
      reply = errorReply(e)
    }
    if (this.clock.current !== before) this.wake()
    if (reply instanceof Promise) return reply.then((r) => this.decorate(r))
    if (name !== undefined && WRITE_COMMANDS.has(name) && cmd.writeConcern !== undefined && reply.ok === 1) {
      const wce = this.writeConcernError(cmd.writeConcern)
      if (wce !== undefined) reply.writeConcernError = wce
    }
    if (retry !== undefined && reply.ok === 1) retry.reply = reply
    return this.decorate(reply)
  }

  /**
   * A replica-set member's replies carry `$clusterTime` and `operationTime`: the reply is marked
   * with the current cluster time and `encodeReply` adds both (pre-encoded) as it serialises it.
   * A replayed retry's reply is marked anew each time.
   */
  private decorate(reply: Doc): Doc {
    if (this.replSet !== undefined) (reply as Stamped)[CLUSTER_TIME] = this.clock.current
    return reply
  }

  /** https://www.mongodb.com/docs/manual/reference/read-concern/ (one node: majority is local). */
  private checkReadConcern(rc: unknown): void {
    if (!isPlainObject(rc)) throw fault(14, "BSON field 'readConcern' is the wrong type, expected type 'object'")
    const level = rc.level
    if (level !== undefined && !['local', 'majority', 'available', 'linearizable', 'snapshot'].includes(String(level))) {
      throw fault(9, `No enum value for readConcern level: ${String(level)}`)
    }
    if (level === 'snapshot') throw fault(72, 'readConcern level snapshot is not supported by the embedded server')
    if (rc.afterClusterTime !== undefined) {
      if (this.replSet === undefined) throw fault(72, 'afterClusterTime is not allowed for this command without replication enabled')
      const t = fromTimestamp(rc.afterClusterTime)
      if (t === undefined) throw fault(14, "BSON field 'afterClusterTime' is the wrong type, expected type 'timestamp'")
      if (t > this.clock.current) throw fault(72, 'readConcern afterClusterTime value must not be greater than the current clusterTime')
    }
  }

  /** w:1/majority and j are met on one node once the write is applied; more members cannot be. */
  private writeConcernError(wc: unknown): Doc | undefined {
    if (!isPlainObject(wc)) return undefined
    const w = wc.w
    if (typeof w === 'string' && w !== 'majority') {
      return { code: 79, codeName: 'UnknownReplWriteConcern', errmsg: `No write concern mode named '${w}' found in replica set configuration` }
    }
    const n = toNumber(w)
    if (n !== undefined && n > 1 && this.replSet !== undefined) {
      return { code: 100, codeName: 'UnsatisfiableWriteConcern', errmsg: 'Not enough data-bearing nodes' }
    }
    return undefined
  }
}

const TXN_REFUSED = 'Multi-document transactions are not supported by the embedded server (retryable writes are)'

export function errorReply(e: unknown): Doc {
  if (e instanceof MongoServerFault) return e.toReply()
  const msg = e instanceof Error ? e.message : String(e)
  return { ok: 0, errmsg: msg, code: 1, codeName: 'InternalError' }
}
