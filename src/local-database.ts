import type { FastifyBaseLogger } from 'fastify'
import { startEmbeddedMongoProcess } from './local-database-process.js'

export interface LocalDatabase {
  uri: string
  kind: 'mongodb-memory-server' | 'embedded'
  stop: () => Promise<void>
  /** The embedded database's own CPU time (it runs in a child process); absent for mongod. */
  cpuMs?: () => Promise<number | null>
}

/**
 * A database for development and tests when no MONGODB_URI is given: a throwaway real
 * `mongod` from mongodb-memory-server if it can get a binary (cached, configured or
 * downloaded), else the project's own wire-compatible server, in a child process of its own. Never used in production.
 */
export async function startLocalDatabase (log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>): Promise<LocalDatabase> {
  try {
    const { MongoMemoryServer } = await import('mongodb-memory-server')
    const server = await MongoMemoryServer.create()
    log.info({ uri: server.getUri() }, 'using a throwaway mongod from mongodb-memory-server')
    return { uri: server.getUri(), kind: 'mongodb-memory-server', stop: async () => { await server.stop() } }
  } catch (error) {
    log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'mongodb-memory-server has no mongod here; starting the embedded database')
  }
  // In a process of its own (issue 13): on the service's event loop it halved a sale's throughput.
  const embedded = await startEmbeddedMongoProcess(log, () => process.kill(process.pid, 'SIGTERM'))
  log.info({ uri: embedded.uri }, 'using the embedded MongoDB-compatible database in a child process (data is lost on exit)')
  return { uri: embedded.uri, kind: 'embedded', stop: embedded.stop, cpuMs: embedded.cpuMs }
}
