import fp from 'fastify-plugin'
import mongoose, { type Connection } from 'mongoose'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { createModels, type Models } from '../models/index.js'
import { databaseUnavailable } from '../errors.js'
import { databaseFault } from './errors.js'
import { installDriverHooks, onCommandSent } from '../driver-hooks.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Connection
    models: Models
    /** True while the database is known or suspected to be unreachable. */
    databaseDown: () => boolean
    /** Says an operation just failed for want of the database: fail fast until a probe gets through. */
    suspectDatabaseDown: () => void
    /**
     * Says one connection just failed (reset, timed out): pings, and only if the database does
     * not answer twice in a row does the instance fail fast (one reset socket is not an outage).
     */
    checkDatabase: () => void
  }
}

export interface MongoPluginOptions { uri: string, dbName?: string }

const PROBE_MS = 1000
/** How long a ping after one failed connection may take before the database counts as away. */
const CHECK_MS = 2500
/** Pause before pinging again after a ping's own connection failed. */
const PING_RETRY_MS = 50

// Filters name only schema paths (strictQuery); values cannot become operators (sanitizeFilter below).
mongoose.set('strictQuery', true)

/** A mongoose connection of its own per app (tests build many apps in one process). */
export default fp(async function mongoPlugin (fastify: FastifyInstance, opts: MongoPluginOptions) {
  // Before any connection: a command written to a socket the database just closed must fail, not hang.
  installDriverHooks()
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
    sanitizeFilter: true
  })
  await db.asPromise()
  const commands = fastify.metrics.dbCommands
  // Every command the driver sends is counted (modex_db_commands_total): round trips per request
  // are measured, not assumed. Through the driver hooks, not the driver's command monitoring
  // (src/driver-hooks.ts says why).
  onCommandSent(db.getClient(), ({ commandName }) => { commands.inc({ command: commandName }) })
  const models = createModels(db)
  // Indexes exist before the first request: the unique ones are what the protocol relies on.
  await Promise.all(Object.values(models).map((m) => m.init()))

  // The driver takes a heartbeat or two to notice a dead server, and until then every request
  // would wait out server selection. So an operation that fails for want of the database (or a
  // failed readiness ping) marks it suspect at once, and a probe clears the mark when it answers.
  let suspect = false
  let probing: Promise<void> | undefined
  // A connection closed on purpose (shutdown, or a test taking the database away) is down for
  // good, and is never pinged: the driver would open the closed client again.
  const closedOnPurpose = (): boolean => (db as unknown as { _closeCalled?: boolean })._closeCalled === true
  /**
   * Whether the database answers a ping within `ms`. A ping that fails on its own connection
   * (reset, or the pool cleared under it by another operation's reset) says nothing about the
   * database: runCommand is never retried by the driver, so it is tried again here. Only a
   * failed server selection (the monitor cannot reach the server) or the deadline counts.
   */
  const ping = async (ms = PROBE_MS): Promise<boolean> => {
    if (closedOnPurpose()) return false
    const deadline = Date.now() + ms
    const attempt = async (): Promise<boolean> => {
      while (!closedOnPurpose()) {
        try {
          await db.db?.admin().ping()
          return db.db !== undefined
        } catch (error) {
          if (databaseFault(error) !== 'network' || Date.now() >= deadline) return false
          await sleep(PING_RETRY_MS)
        }
      }
      return false
    }
    return await Promise.race([attempt(), sleep(ms, false, { ref: false })])
  }
  const probeUntilUp = async (): Promise<void> => {
    while (suspect && !closedOnPurpose() && db.readyState !== mongoose.ConnectionStates.disconnecting && db.readyState !== mongoose.ConnectionStates.uninitialized) {
      if (await ping()) suspect = false
      else await sleep(PROBE_MS)
    }
    probing = undefined
  }
  fastify.decorate('db', db)
  fastify.decorate('models', models)
  // Not the connection's readyState: the driver reports "disconnected" whenever its one server is
  // marked unknown, which a single reset connection does (and the next heartbeat undoes). Only a
  // failed ping or server selection says the database is away.
  fastify.decorate('databaseDown', () => suspect || closedOnPurpose())
  fastify.decorate('suspectDatabaseDown', () => {
    if (!suspect) fastify.log.warn('database unreachable: answering 503 until it is back')
    suspect = true
    probing ??= probeUntilUp()
  })
  let checking = false
  fastify.decorate('checkDatabase', () => {
    if (suspect || checking) return
    checking = true
    void (async () => {
      try {
        // Generous deadlines: after a reset the driver re-checks its server before the ping can
        // run, and on a loaded machine that alone can take a second.
        if (await ping(CHECK_MS)) return
        await sleep(250)
        if (!(await ping(CHECK_MS))) fastify.suspectDatabaseDown()
      } finally {
        checking = false
      }
    })()
  })
  // Closing the app disconnects on purpose: only an unplanned disconnect is worth a warning.
  let closing = false
  db.on('disconnected', () => {
    if (closing || closedOnPurpose()) return
    fastify.log.warn('database disconnected')
    fastify.checkDatabase()
  })
  db.on('reconnected', () => {
    fastify.log.info('database reconnected')
    // A database that came back empty (restored, or a throwaway one restarted) must get the
    // unique indexes back before anyone relies on them; creating existing indexes is a no-op.
    Promise.all(Object.values(models).map((m) => m.createIndexes()))
      .catch((error: unknown) => fastify.log.error({ err: error }, 'could not rebuild indexes after reconnecting'))
  })

  // While the database is down, API requests answer 503 at once rather than each waiting out
  // server selection; /health and /ready stay reachable.
  // The callback form, as every per-request hook (src/app.ts says why).
  fastify.addHook('onRequest', (request, _reply, done) => {
    done(request.url.startsWith('/api/') && fastify.databaseDown() ? databaseUnavailable() : undefined)
  })
  fastify.addHook('onClose', async () => {
    closing = true
    suspect = false
    await db.close()
    await probing
  })
}, { name: 'mongo', dependencies: ['metrics'] })
