import type { FastifyBaseLogger } from 'fastify'

export interface LocalDatabase {
  uri: string
  kind: 'mongodb-memory-server' | 'embedded'
  /** `replica-set` (one member, `rs0`: change streams, retryable writes) or `standalone`. */
  topology: 'replica-set' | 'standalone'
  stop: () => Promise<void>
}

export interface LocalDatabaseOptions {
  /**
   * May mongodb-memory-server download a `mongod` when none is cached or configured?
   * Off by default: a first start must never wait on (or fail after) a download.
   */
  allowDownload?: boolean
  /** A standalone server instead of a one-member replica set `rs0` (as deployments are). */
  standalone?: boolean
}

type Choice = { kind: 'mongodb-memory-server', binary?: string, reason: string } | { kind: 'embedded', reason: string }

/**
 * Which database to start, decided without touching the network: a real `mongod` when one is
 * configured (MONGOMS_SYSTEM_BINARY) or already in mongodb-memory-server's download cache, a
 * download only when allowed, else the embedded server.
 */
async function chooseDatabase (allowDownload: boolean): Promise<Choice> {
  try {
    const { DryMongoBinary } = await import('mongodb-memory-server')
    const options = await DryMongoBinary.generateOptions()
    const binary = await DryMongoBinary.locateBinary(options)
    if (binary !== undefined) {
      const source = options.systemBinary !== undefined && options.systemBinary !== '' ? 'MONGOMS_SYSTEM_BINARY' : 'the download cache'
      return { kind: 'mongodb-memory-server', binary, reason: `a mongod ${options.version} was found (${source}: ${binary})` }
    }
    if (allowDownload) return { kind: 'mongodb-memory-server', reason: `no mongod ${options.version} is cached; MONGOD_DOWNLOAD=true allows downloading one` }
    return { kind: 'embedded', reason: `no mongod ${options.version} is cached or configured (MONGOMS_SYSTEM_BINARY, MONGOMS_DOWNLOAD_DIR) and MONGOD_DOWNLOAD is not true` }
  } catch (error) {
    // E.g. MONGOMS_SYSTEM_BINARY names a file that is not there: say so, and start anyway.
    return { kind: 'embedded', reason: `no usable mongod: ${error instanceof Error ? error.message : String(error)}` }
  }
}

/**
 * A database for development and tests when no MONGODB_URI is given: a throwaway real `mongod`
 * from mongodb-memory-server if one is at hand, else the project's own in-process
 * wire-compatible server. Never used in production. Logs one line: what it chose and why.
 */
export async function startLocalDatabase (log: Pick<FastifyBaseLogger, 'info' | 'warn'>, opts: LocalDatabaseOptions = {}): Promise<LocalDatabase> {
  const choice = await chooseDatabase(opts.allowDownload ?? false)
  const standalone = opts.standalone === true
  const topology = standalone ? 'standalone' : 'replica-set'
  if (choice.kind === 'mongodb-memory-server') {
    try {
      const { MongoMemoryServer, MongoMemoryReplSet } = await import('mongodb-memory-server')
      // With the binary's path given, mongodb-memory-server cannot decide to download instead.
      const binary = choice.binary === undefined ? {} : { binary: { systemBinary: choice.binary } }
      const server = standalone
        ? await MongoMemoryServer.create(binary)
        : await MongoMemoryReplSet.create({ ...binary, replSet: { count: 1, name: 'rs0' } })
      log.info({ database: choice.kind, topology, uri: server.getUri(), reason: choice.reason }, 'local database: a throwaway mongod from mongodb-memory-server')
      return { uri: server.getUri(), kind: 'mongodb-memory-server', topology, stop: async () => { await server.stop() } }
    } catch (error) {
      choice.reason = `${choice.reason}, but it did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`
    }
  }
  const { startEmbeddedMongo } = await import('./embedded-mongo/index.js')
  const embedded = await startEmbeddedMongo({ standalone })
  log.info({ database: 'embedded', topology, uri: embedded.uri, reason: choice.reason }, 'local database: the embedded MongoDB-compatible server (data is lost on exit)')
  return { uri: embedded.uri, kind: 'embedded', topology, stop: () => embedded.stop() }
}
