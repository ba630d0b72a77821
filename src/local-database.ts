import type { FastifyBaseLogger } from 'fastify'

export interface LocalDatabase { uri: string, kind: 'mongodb-memory-server' | 'embedded', stop: () => Promise<void> }

/**
 * A database for development and tests when no MONGODB_URI is given: a throwaway real
 * `mongod` from mongodb-memory-server if it can get a binary (cached, configured or
 * downloaded), else the project's own in-process wire-compatible server. Never used in production.
 */
export async function startLocalDatabase (log: Pick<FastifyBaseLogger, 'info' | 'warn'>): Promise<LocalDatabase> {
  try {
    const { MongoMemoryServer } = await import('mongodb-memory-server')
    const server = await MongoMemoryServer.create()
    log.info({ uri: server.getUri() }, 'using a throwaway mongod from mongodb-memory-server')
    return { uri: server.getUri(), kind: 'mongodb-memory-server', stop: async () => { await server.stop() } }
  } catch (error) {
    log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'mongodb-memory-server has no mongod here; starting the embedded database')
  }
  const { startEmbeddedMongo } = await import('./embedded-mongo/index.js')
  const embedded = await startEmbeddedMongo()
  log.info({ uri: embedded.uri }, 'using the embedded MongoDB-compatible database (data is lost on exit)')
  return { uri: embedded.uri, kind: 'embedded', stop: () => embedded.stop() }
}
