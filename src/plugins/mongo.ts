import fp from 'fastify-plugin'
import mongoose, { type Connection } from 'mongoose'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { createModels, type Models } from '../models/index.js'
import { databaseUnavailable } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Connection
    models: Models
    /** True while the database is known or suspected to be unreachable. */
    databaseDown: () => boolean
    /** Says an operation just failed for want of the database: fail fast until a probe gets through. */
    suspectDatabaseDown: () => void
  }
}

export interface MongoPluginOptions { uri: string, dbName?: string }

const PROBE_MS = 1000

// Filters name only schema paths (strictQuery); values cannot become operators (sanitizeFilter below).
mongoose.set('strictQuery', true)

/** A mongoose connection of its own per app (tests build many apps in one process). */
export default fp(async function mongoPlugin (fastify: FastifyInstance, opts: MongoPluginOptions) {
  const db = mongoose.createConnection(opts.uri, {
    dbName: opts.dbName,
    // Fail fast instead of queueing requests while the database is away (they get 503).
    bufferCommands: false,
    serverSelectionTimeoutMS: 3000,
    // A dead database is noticed within a second or two, not the driver's default 10 s.
    heartbeatFrequencyMS: 1000,
    autoIndex: true,
    // Defence in depth behind request validation: a `$`-object in a filter value is wrapped in
    // $eq (and then refused by the schema's cast), never run as an operator; the services mark
    // their own operator filters with trusted().
    sanitizeFilter: true,
    // Every command the driver sends is counted (modex_db_commands_total): round trips per request are measured, not assumed.
    monitorCommands: true
  })
  await db.asPromise()
  const commands = fastify.metrics.dbCommands
  db.getClient().on('commandStarted', (event) => { commands.inc({ command: event.commandName }) })
  const models = createModels(db)
  // Indexes exist before the first request: the unique ones are what the protocol relies on.
  await Promise.all(Object.values(models).map((m) => m.init()))

  // The driver takes a heartbeat or two to notice a dead server, and until then every request
  // would wait out server selection. So an operation that fails for want of the database (or a
  // failed readiness ping) marks it suspect at once, and a probe clears the mark when it answers.
  let suspect = false
  let probing: Promise<void> | undefined
  const ping = async (): Promise<boolean> => await Promise.race([
    db.db?.admin().ping().then(() => true, () => false) ?? false,
    sleep(PROBE_MS).then(() => false)
  ])
  const probeUntilUp = async (): Promise<void> => {
    while (suspect && db.readyState !== mongoose.ConnectionStates.disconnecting && db.readyState !== mongoose.ConnectionStates.uninitialized) {
      if (await ping()) suspect = false
      else await sleep(PROBE_MS)
    }
    probing = undefined
  }
  fastify.decorate('db', db)
  fastify.decorate('models', models)
  fastify.decorate('databaseDown', () => suspect || db.readyState !== mongoose.ConnectionStates.connected)
  fastify.decorate('suspectDatabaseDown', () => {
    if (!suspect) fastify.log.warn('database unreachable: answering 503 until it is back')
    suspect = true
    probing ??= probeUntilUp()
  })
  db.on('disconnected', () => fastify.log.warn('database disconnected'))
  db.on('reconnected', () => {
    fastify.log.info('database reconnected')
    // A database that came back empty (restored, or a throwaway one restarted) must get the
    // unique indexes back before anyone relies on them; creating existing indexes is a no-op.
    Promise.all(Object.values(models).map((m) => m.createIndexes()))
      .catch((error: unknown) => fastify.log.error({ err: error }, 'could not rebuild indexes after reconnecting'))
  })

  // While the database is down, API requests answer 503 at once rather than each waiting out
  // server selection; /health and /ready stay reachable.
  fastify.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/api/') && fastify.databaseDown()) {
      throw databaseUnavailable()
    }
  })
  fastify.addHook('onClose', async () => {
    suspect = false
    await db.close()
    await probing
  })
}, { name: 'mongo', dependencies: ['metrics'] })
