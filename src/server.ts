import closeWithGrace from 'close-with-grace'
import net from 'node:net'
import pino, { type DestinationStream, type LoggerOptions } from 'pino'
import { ConfigError, loadConfig, type Config } from './config.js'
import { buildApp } from './app.js'
import { startLocalDatabase, type LocalDatabase } from './local-database.js'

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

/**
 * Logs read by a person at a terminal are pretty-printed (pino-pretty, in pino's worker
 * thread); anything else (a file, a pipe, a log collector, production) gets pino's JSON lines.
 */
function logDestination (config: Config): DestinationStream | undefined {
  if (config.env === 'production' || process.stdout.isTTY !== true) return undefined
  return pino.transport({ target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } })
}

/** Fails at once when the address is taken, before anything slower (the database) starts. */
async function checkAddressFree (port: number, host: string): Promise<void> {
  if (port === 0) return
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()))
  })
}

const config = readConfig()
const stream = logDestination(config)
const loggerOptions: LoggerOptions = { level: config.logLevel }
const log = stream === undefined ? pino(loggerOptions) : pino(loggerOptions, stream)

try {
  await checkAddressFree(config.port, config.host)
} catch (error) {
  log.error({ err: error, port: config.port, host: config.host }, `could not start: ${config.host}:${config.port} is not available`)
  log.flush()
  process.exit(1)
}

let database: LocalDatabase | undefined
if (config.mongodbUri === undefined) {
  database = await startLocalDatabase(log, { allowDownload: config.mongodDownload })
}
const app = buildApp({ config, mongoUri: config.mongodbUri ?? database?.uri ?? '' }, { ...loggerOptions, ...(stream !== undefined && { stream }) })

// On SIGTERM/SIGINT: stop taking requests, let in-flight ones finish, stop Agenda (its
// locks are released for other instances), close the database; give up after 10 s.
closeWithGrace({ delay: 10_000, logger: log }, async ({ signal, err }) => {
  if (err !== undefined) log.error({ err }, 'shutting down after an error')
  else log.info({ signal }, 'shutting down')
  await app.close()
  await database?.stop()
  log.info('stopped')
})

try {
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  log.error({ err: error }, 'could not start')
  await database?.stop()
  process.exit(1)
}
