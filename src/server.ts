import './debug-colors.js'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { ConfigError, loadConfig, type Config } from './config.js'
import { buildApp } from './app.js'
import { startLocalDatabase, type LocalDatabase } from './local-database.js'
import { exposeDatabaseCpu } from './local-database-process.js'

function readConfig (): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      // One clear line naming the setting, nothing else.
      process.stderr.write(`modex: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

const config = readConfig()
const log = pino({ level: config.logLevel })
let database: LocalDatabase | undefined
if (config.mongodbUri === undefined) {
  log.info('MONGODB_URI is not set: starting a local database for development')
  database = await startLocalDatabase(log)
}
const app = buildApp({ config, mongoUri: config.mongodbUri ?? database?.uri ?? '' })

// On SIGTERM/SIGINT: stop taking requests, let in-flight ones finish, stop Agenda (its
// locks are released for other instances), close the database; give up after 10 s.
closeWithGrace({ delay: 10_000, logger: log }, async ({ signal, err }) => {
  if (err !== undefined) log.error({ err }, 'shutting down after an error')
  else log.info({ signal }, 'shutting down')
  await app.close()
  await database?.stop()
})

try {
  await app.listen({ port: config.port, host: config.host })
  if (database?.cpuMs !== undefined) exposeDatabaseCpu(app.metrics.registry, database.cpuMs)
} catch (error) {
  log.error({ err: error }, 'could not start')
  await database?.stop()
  process.exit(1)
}
