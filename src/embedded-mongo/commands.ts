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
import type { Doc } from './values.js'

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

export class Engine {
  readonly catalogue = new Catalogue()
  readonly cursors = new Cursors()
  readonly startedAt = Date.now()
  private ttlTimer: NodeJS.Timeout | undefined
  connections = 0

  startTtlMonitor(intervalMs = 1000): void {
    // MongoDB's TTL monitor runs every 60 s; checking every second keeps tests and holds snappy.
    this.ttlTimer = setInterval(() => {
      this.expireTtl()
      this.cursors.expire()
    }, intervalMs)
    this.ttlTimer.unref()
  }

  stop(): void {
    if (this.ttlTimer !== undefined) clearInterval(this.ttlTimer)
    this.ttlTimer = undefined
  }

  /** Deletes documents whose TTL-indexed date is older than expireAfterSeconds. */
  expireTtl(now = Date.now()): number {
    return this.catalogue.expireTtl(now)
  }

  killCursor(id: string): boolean {
    return this.cursors.kill(id)
  }

  run(db: string, cmd: Doc, conn: ConnectionInfo): Doc | Promise<Doc> {
    try {
      const name = Object.keys(cmd)[0]
      if (name === undefined) throw fault(59, 'no such command: \'\'')
      if ('txnNumber' in cmd || 'startTransaction' in cmd || 'autocommit' in cmd) {
        // What a real standalone mongod answers: https://www.mongodb.com/docs/manual/core/transactions/
        throw fault(20, 'Transaction numbers are only allowed on a replica set member or mongos')
      }
      const h = COMMANDS[name] ?? COMMANDS[name.toLowerCase()]
      if (h === undefined) throw fault(59, `no such command: '${name}'`)
      return h(this, db, cmd, conn)
    } catch (e) {
      return errorReply(e)
    }
  }
}

export function errorReply(e: unknown): Doc {
  if (e instanceof MongoServerFault) return e.toReply()
  const msg = e instanceof Error ? e.message : String(e)
  return { ok: 0, errmsg: msg, code: 1, codeName: 'InternalError' }
}
