import type { FastifyBaseLogger } from 'fastify'

export interface LocalDatabase {
  uri: string
  kind: 'mongodb-memory-server' | 'embedded'
  /** `replica-set` (one member, `rs0`: change streams, retryable writes) or `standalone`. */
  topology: 'replica-set' | 'standalone'
  stop: () => Promise<void>
}

/**
 * A database for development and tests when no MONGODB_URI is given: a throwaway real
 * `mongod` from mongodb-memory-server if it can get a binary (cached, configured or
 * downloaded), else the project's own in-process wire-compatible server. Either is a
 * one-member replica set `rs0` (as deployments are) unless `standalone` is asked for.
 * Never used in production.
 */
export async function startLocalDatabase (log: Pick<FastifyBaseLogger, 'info' | 'warn'>, opts: { standalone?: boolean } = {}): Promise<LocalDatabase> {
  const standalone = opts.standalone === true
  const topology = standalone ? 'standalone' : 'replica-set'
  try {
    const { MongoMemoryServer, MongoMemoryReplSet } = await import('mongodb-memory-server')
    const server = standalone
      ? await MongoMemoryServer.create()
      : await MongoMemoryReplSet.create({ replSet: { count: 1, name: 'rs0' } })
    log.info({ uri: server.getUri(), topology }, 'using a throwaway mongod from mongodb-memory-server')
    return { uri: server.getUri(), kind: 'mongodb-memory-server', topology, stop: async () => { await server.stop() } }
  } catch (error) {
    log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'mongodb-memory-server has no mongod here; starting the embedded database')
  }
  const { startEmbeddedMongo } = await import('./embedded-mongo/index.js')
  const embedded = await startEmbeddedMongo({ standalone })
  log.info({ uri: embedded.uri, topology }, 'using the embedded MongoDB-compatible database (data is lost on exit)')
  return { uri: embedded.uri, kind: 'embedded', topology, stop: () => embedded.stop() }
}
