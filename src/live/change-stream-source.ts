import { setTimeout as sleep } from 'node:timers/promises'
import type { Db, ChangeStream, Document, ResumeToken, Timestamp } from 'mongodb'
import type { FastifyBaseLogger } from 'fastify'
import type { SeatStatus } from '../models/seat.js'
import type { Pos, SeatEventFeed, SeatEventSource, ShowStatus } from './seat-stream-hub.js'

/** Server errors after which the stream cannot go on from its resume token: the history it needs is gone. */
const HISTORY_LOST = new Set([
  286, // ChangeStreamHistoryLost: the oplog (the embedded server's change log) rolled past the token
  280, // ChangeStreamFatalError
  260 // InvalidResumeToken
])
const RETRY_MS = 1000

interface StatusChange {
  _id: ResumeToken
  operationType: string
  ns?: { coll?: string }
  documentKey?: { _id?: { toHexString?: () => string } }
  clusterTime?: Timestamp
  wallTime?: Date
  updateDescription?: { updatedFields?: { status?: string } }
}

const isCode = (error: unknown, codes: Set<number>): boolean => {
  const code = (error as { code?: unknown }).code
  return typeof code === 'number' && codes.has(code)
}

/**
 * The change-stream source (DESIGN.md): ONE change stream per instance, on the database, for
 * status updates of `seats` and `shows`. Positions are the change's cluster time plus a
 * sequence among changes sharing it — the same on every instance of the replica set, so an id
 * resumes on any of them. The resume token is kept; after an error the stream reopens from it,
 * and when that is impossible (history lost, invalidated) the hub is told to resync.
 */
export function createChangeStreamSource (db: Db, log: FastifyBaseLogger): SeatEventSource {
  let stream: ChangeStream<Document, StatusChange> | undefined
  let token: ResumeToken | undefined
  let stopped = false
  let loop: Promise<void> | undefined
  let last: { t: number, i: number, seq: number } = { t: 0, i: 0, seq: -1 }

  const pipeline = [
    {
      $match: {
        operationType: 'update',
        'ns.coll': { $in: ['seats', 'shows'] },
        'updateDescription.updatedFields.status': { $exists: true }
      }
    },
    // Only what the fan-out uses crosses the wire (the resume token, _id, always stays).
    { $project: { operationType: 1, ns: 1, documentKey: 1, clusterTime: 1, wallTime: 1, 'updateDescription.updatedFields.status': 1 } }
  ]

  /** The server's current cluster time: changes from it on are what a new stream sees. */
  async function clusterTime (): Promise<Timestamp> {
    const reply = await db.command({ ping: 1 })
    const time = (reply.operationTime ?? (reply.$clusterTime as { clusterTime?: Timestamp } | undefined)?.clusterTime) as Timestamp | undefined
    if (time === undefined) throw new Error('the server gives no cluster time: not a replica set')
    return time
  }

  function open (from: { token: ResumeToken } | { time: Timestamp }): ChangeStream<Document, StatusChange> {
    return db.watch<Document, StatusChange>(pipeline, 'token' in from ? { resumeAfter: from.token } : { startAtOperationTime: from.time })
  }

  function positionOf (change: StatusChange): Pos {
    const t = change.clusterTime?.t ?? 0
    const i = change.clusterTime?.i ?? 0
    last = t === last.t && i === last.i ? { t, i, seq: last.seq + 1 } : { t, i, seq: 0 }
    return [t, i, last.seq]
  }

  function deliver (feed: SeatEventFeed, change: StatusChange): void {
    const id = change.documentKey?._id?.toHexString?.()
    const status = change.updateDescription?.updatedFields?.status
    if (id === undefined || status === undefined) return
    const pos = positionOf(change)
    const committedAt = change.wallTime instanceof Date ? change.wallTime.getTime() : Date.now()
    if (change.ns?.coll === 'seats') feed.seat(pos, id, status as SeatStatus, committedAt)
    else feed.show(pos, id, status as ShowStatus, committedAt)
  }

  async function run (feed: SeatEventFeed, first: ChangeStream<Document, StatusChange>): Promise<void> {
    let current: ChangeStream<Document, StatusChange> | undefined = first
    while (!stopped) {
      try {
        current ??= open(token !== undefined ? { token } : { time: await clusterTime() })
        stream = current
        for await (const change of current) {
          token = change._id
          if (change.operationType === 'invalidate') throw Object.assign(new Error('change stream invalidated'), { code: 280 })
          deliver(feed, change)
        }
        if (stopped) return
        throw new Error('change stream closed')
      } catch (error) {
        await current?.close().catch(() => undefined)
        current = undefined
        if (stopped) return
        if (isCode(error, HISTORY_LOST)) {
          // The changes since the token are gone: start afresh from now, and every subscriber gets a new snapshot.
          token = undefined
          try {
            const time = await clusterTime()
            current = open({ time })
            await feed.resync([time.t, time.i, -1], `change stream cannot resume (${(error as Error).message})`)
          } catch (reopenError) {
            log.warn({ err: reopenError }, 'live seat maps: could not reopen the change stream; retrying')
            await sleep(RETRY_MS)
          }
        } else {
          // An outage or a network error: resume from the token once the database answers (nothing is lost).
          log.warn({ err: error }, 'live seat maps: change stream interrupted; resuming from its token')
          await sleep(RETRY_MS)
        }
      }
    }
  }

  return {
    kind: 'change-stream',
    feedsAllShows: true,
    async start (feed) {
      const time = await clusterTime()
      const first = open({ time })
      // The stream's aggregate runs on the first iteration; make sure it is accepted before claiming the source works.
      await first.tryNext().then((change) => {
        if (change !== null) {
          token = change._id
          deliver(feed, change)
        }
      })
      loop = run(feed, first)
      log.info({ source: 'change-stream' }, 'live seat maps: one change stream on seats and shows')
      return [time.t, time.i, -1]
    },
    async stop () {
      stopped = true
      await stream?.close().catch(() => undefined)
      await loop
    },
    formatId: (pos) => `${pos[0]}.${pos[1]}.${pos[2]}`,
    parseId (id) {
      // Sequence -1: the position just before a cluster time (a snapshot taken before any change was seen).
      const m = /^(\d{1,10})\.(\d{1,10})\.(-1|\d{1,9})$/.exec(id)
      return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])]
    }
  }
}

/** Whether this database can give change streams (a replica set member); a standalone server refuses them. */
export async function supportsChangeStreams (db: Db): Promise<boolean> {
  const hello = await db.command({ hello: 1 })
  return typeof hello.setName === 'string'
}
