// The test run's one database, as its own long-lived process: tap's `before` script must
// exit before tests start, so the database cannot live inside it. Prints
// `uri=<uri> kind=<kind>/<topology>`. A one-member replica set unless TEST_DB_TOPOLOGY=standalone.
import { startLocalDatabase } from '../../src/local-database.js'

const log = { info: (o: object, m?: string) => process.stderr.write(`${m ?? ''} ${JSON.stringify(o)}\n`), warn: (o: object, m?: string) => process.stderr.write(`${m ?? ''} ${JSON.stringify(o)}\n`) }
const database = await startLocalDatabase(log, { standalone: process.env.TEST_DB_TOPOLOGY === 'standalone' })
process.stdout.write(`uri=${database.uri} kind=${database.kind}/${database.topology}\n`)
const stop = async () => { await database.stop(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
