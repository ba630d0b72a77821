import fp from 'fastify-plugin'
import { fastifySSE as sse } from '@fastify/sse'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { AppError, unavailable } from '../errors.js'
import { createSeatStreamHub, type SeatEventSource, type SeatStreamHub, type ShowStatus } from '../live/seat-stream-hub.js'
import { createPollingSource } from '../live/polling-source.js'
import { seatMapReader } from '../services/seat-map-cache.js'
import { createChangeStreamSource, supportsChangeStreams } from '../live/change-stream-source.js'

/** A comment line at least this often keeps proxies from closing an idle stream (API.md: at least every 15 s). */
export const KEEP_ALIVE_MS = 10_000

export interface LiveSeatMaps {
  hub: SeatStreamHub
  /**
   * Takes one of this instance's stream slots for a client address, or throws the contract's
   * 503 OVERLOADED / 429 RATE_LIMITED (before anything of the stream is written). Returns its release.
   */
  reserveStream: (address: string) => () => void
}

declare module 'fastify' {
  interface FastifyInstance { liveSeatMaps: LiveSeatMaps }
}

/**
 * Live seat maps (DESIGN.md): one change source per instance, fanned out to SSE subscribers.
 * Streams end when the app closes (preClose), before the server waits for open requests, so a
 * SIGTERM never waits on a stream: clients reconnect elsewhere and resume.
 */
export default fp(async function livePlugin (fastify: FastifyInstance, opts: { config: Config }) {
  // @fastify/sse: Accept negotiation off (the route serves nothing but the stream, and its 406
  // body is not the contract's), lazy headers (so 404/429/503 are ordinary error answers) and
  // the keep-alive comment.
  await fastify.register(sse, { heartbeatInterval: KEEP_ALIVE_MS })

  const { models, services, metrics, log } = fastify
  const readSeatMap = seatMapReader(models)
  async function startHub (source: SeatEventSource): Promise<SeatStreamHub> {
    const hub = createSeatStreamHub({
      source,
      metrics,
      log,
      reader: {
        showStatus: async (showId) => (await services.shows.findShow(showId)).status as ShowStatus,
        seatMap: readSeatMap
      },
      // The seat-map cache learns other instances' changes from the same events, when they are
      // exact and ordered (a change stream); polling reads no more than the cache's own re-reads.
      onSeatChanges: source.kind === 'change-stream' ? services.seatMaps.apply : undefined
    })
    await hub.start()
    return hub
  }
  let hub: SeatStreamHub | undefined
  const db = fastify.db.db
  if (db === undefined) throw new Error('the database connection is not open')
  if (opts.config.liveSource === 'auto' && await supportsChangeStreams(db)) {
    try {
      hub = await startHub(createChangeStreamSource(db, log))
    } catch (error) {
      log.warn({ err: error }, 'live seat maps: the replica set refused a change stream; polling instead')
    }
  }
  hub ??= await startHub(createPollingSource(models, log))

  const { maxStreams, maxStreamsPerClient } = opts.config
  let open = 0
  const perClient = new Map<string, number>()
  function reserveStream (address: string): () => void {
    if (open >= maxStreams) {
      throw unavailable('OVERLOADED', `this instance holds its maximum of ${maxStreams} live streams; retry shortly`, 5)
    }
    const mine = perClient.get(address) ?? 0
    if (mine >= maxStreamsPerClient) {
      throw new AppError(429, 'RATE_LIMITED', `at most ${maxStreamsPerClient} live streams per client`, undefined, { 'retry-after': '5' })
    }
    open++
    perClient.set(address, mine + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      open--
      const left = (perClient.get(address) ?? 1) - 1
      if (left > 0) perClient.set(address, left)
      else perClient.delete(address)
    }
  }

  const started = hub
  metrics.liveSource.set({ source: hub.kind }, 1)
  fastify.decorate('liveSeatMaps', { hub: started, reserveStream })
  fastify.addHook('preClose', async () => { await started.close() })
}, { name: 'live', dependencies: ['services', 'metrics', 'mongo'] })
