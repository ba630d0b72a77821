import { randomBytes } from 'node:crypto'
import { Types } from 'mongoose'
import type { FastifyBaseLogger } from 'fastify'
import type { Models } from '../models/index.js'
import type { SeatStatus } from '../models/seat.js'
import type { Pos, SeatEventFeed, SeatEventSource, ShowStatus } from './seat-stream-hub.js'

export const POLL_MS = 500

/**
 * The standalone fallback (DESIGN.md): change streams need a replica set, so on a standalone
 * server each watched show's seat statuses are re-read every POLL_MS — one query per show per
 * instance, not per subscriber — plus one query for the watched shows' statuses, and diffed
 * against the map in memory. Positions are this process's own tick counter, so ids resume on
 * this instance only (the epoch in the id tells another instance's, or an earlier run's, apart).
 */
export function createPollingSource (models: Models, log: FastifyBaseLogger, pollMs = POLL_MS): SeatEventSource {
  const epoch = randomBytes(4).toString('hex')
  let tick = 0
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false
  /** When the previous read began: a change found now was committed after it (lag is measured from there). */
  let previousReadAt = Date.now()

  async function readShowStatuses (showIds: string[]): Promise<Map<string, ShowStatus>> {
    const docs = await models.Show.collection.find<{ _id: Types.ObjectId, status: ShowStatus }>(
      { _id: { $in: showIds.map((id) => new Types.ObjectId(id)) } }, { projection: { status: 1 } }).toArray()
    return new Map(docs.map((d) => [d._id.toHexString(), d.status]))
  }

  async function readSeatStatuses (showId: string): Promise<Array<{ _id: Types.ObjectId, status: SeatStatus }>> {
    return await models.Seat.collection.find<{ _id: Types.ObjectId, status: SeatStatus }>(
      { showId: new Types.ObjectId(showId) }, { projection: { status: 1 } }).toArray()
  }

  async function poll (feed: SeatEventFeed): Promise<void> {
    const watched = feed.watched()
    if (watched.length === 0) return
    const readAt = Date.now()
    const [statuses, seatLists] = await Promise.all([
      readShowStatuses(watched.map((w) => w.showId)),
      Promise.all(watched.map(async (w) => await readSeatStatuses(w.showId)))
    ])
    const pos: Pos = [0, 0, ++tick]
    watched.forEach((w, k) => {
      for (const seat of seatLists[k]) {
        const id = seat._id.toHexString()
        const known = w.seatStatus(id)
        if (known !== undefined && known !== seat.status) feed.seat(pos, id, seat.status, previousReadAt)
      }
      const status = statuses.get(w.showId)
      if (status !== undefined && status !== w.showStatus()) feed.show(pos, w.showId, status, previousReadAt)
    })
    previousReadAt = readAt
    feed.flush()
  }

  return {
    kind: 'polling',
    feedsAllShows: false,
    async start (feed) {
      const loop = (): void => {
        if (stopped) return
        running = poll(feed)
          .catch((error: unknown) => log.warn({ err: error }, 'live seat maps: a poll failed; retrying'))
          .finally(() => {
            running = undefined
            if (!stopped) timer = setTimeout(loop, pollMs)
          })
      }
      timer = setTimeout(loop, pollMs)
      log.info({ source: 'polling', everyMs: pollMs }, 'live seat maps: polling each watched show (no change stream: a standalone database, or LIVE_SOURCE=polling)')
      return [0, 0, tick]
    },
    async stop () {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await running
    },
    mark: () => [0, 0, ++tick],
    formatId: (pos) => `p.${epoch}.${pos[2]}`,
    parseId (id) {
      const m = /^p\.([0-9a-f]{8})\.(\d{1,15})$/.exec(id)
      // Another instance's (or an earlier run's) tick means nothing here; a tick not yet reached is not a real id.
      if (m === null || m[1] !== epoch || Number(m[2]) > tick) return undefined
      return [0, 0, Number(m[2])]
    }
  }
}
