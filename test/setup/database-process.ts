// The test run's one database, as its own long-lived process: tap's `before` script must
// exit before tests start, so the database cannot live inside it. Prints
// `uri=<uri> kind=<kind>/<topology>`. A one-member replica set unless TEST_DB_TOPOLOGY=standalone.
// Like `npm start`, it never waits on a mongod download: a real mongod only when one is cached
// or configured (MONGOMS_SYSTEM_BINARY), a download only with MONGOD_DOWNLOAD=true.
import pino from 'pino'
import { startLocalDatabase } from '../../src/local-database.js'

// One JSON line per message (what it chose and why), on stderr: stdout carries the URI line.
const log = pino({ level: 'info' }, pino.destination(2))
const database = await startLocalDatabase(log, { allowDownload: process.env.MONGOD_DOWNLOAD === 'true', standalone: process.env.TEST_DB_TOPOLOGY === 'standalone' })
process.stdout.write(`uri=${database.uri} kind=${database.kind}/${database.topology}\n`)
const stop = async () => { await database.stop(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
