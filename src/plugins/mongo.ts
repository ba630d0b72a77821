import fp from 'fastify-plugin'
import mongoose, { type Connection } from 'mongoose'
import type { FastifyInstance } from 'fastify'
import { createModels, type Models } from '../models/index.js'
import { AppError } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance { db: Connection, models: Models }
}

export interface MongoPluginOptions { uri: string, dbName?: string }

// No request value may become a query operator: filters are cast to the schema (strictQuery).
mongoose.set('strictQuery', true)

/** A mongoose connection of its own per app (tests build many apps in one process). */
export default fp(async function mongoPlugin (fastify: FastifyInstance, opts: MongoPluginOptions) {
  const db = mongoose.createConnection(opts.uri, {
    dbName: opts.dbName,
    // Fail fast instead of queueing requests while the database is away (they get 503).
    bufferCommands: false,
    serverSelectionTimeoutMS: 5000,
    // A dead database is noticed within a second or two, not the driver's default 10 s.
    heartbeatFrequencyMS: 1000,
    autoIndex: true,
    // Every command the driver sends is counted (modex_db_commands_total): round trips per request are measured, not assumed.
    monitorCommands: true
  })
  db.on('disconnected', () => fastify.log.warn('database disconnected'))
  db.on('reconnected', () => fastify.log.info('database reconnected'))
  await db.asPromise()
  const commands = fastify.metrics.dbCommands
  db.getClient().on('commandStarted', (event) => { commands.inc({ command: event.commandName }) })
  const models = createModels(db)
  // Indexes exist before the first request: the unique ones are what the protocol relies on.
  await Promise.all(Object.values(models).map((m) => m.init()))
  fastify.decorate('db', db)
  fastify.decorate('models', models)
  // While the driver knows the database is gone, API requests answer 503 at once
  // rather than each waiting out server selection; /health and /ready stay reachable.
  fastify.addHook('onRequest', async (request) => {
    if (db.readyState !== mongoose.ConnectionStates.connected && request.url.startsWith('/api/')) {
      throw new AppError(503, 'DATABASE_UNAVAILABLE', 'the database is unreachable; retry shortly', undefined, { 'retry-after': '5' })
    }
  })
  fastify.addHook('onClose', async () => { await db.close() })
}, { name: 'mongo', dependencies: ['metrics'] })
