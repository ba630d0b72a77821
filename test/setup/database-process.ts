// The test run's one database, as its own long-lived process: tap's `before` script must
// exit before tests start, so the database cannot live inside it. Prints `uri=<uri> kind=<kind>`.
import { startLocalDatabase } from '../../src/local-database.js'

const write = (o: object, m?: string): boolean => process.stderr.write(`${m ?? ''} ${JSON.stringify(o)}\n`)
const log = { info: write, warn: write, error: write }
const database = await startLocalDatabase(log)
process.stdout.write(`uri=${database.uri} kind=${database.kind}\n`)
const stop = async () => { await database.stop(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
