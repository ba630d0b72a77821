// The embedded MongoDB on its own: `npm run db -- --port 27017 [--host 127.0.0.1] [--standalone]
// [--repl-set rs0] [--history 100000] [--advertise host:port]`. A one-member replica set unless
// --standalone. Prints one line with the URI (other processes parse it with /mongodb:\/\/\S+/).
import { parseArgs } from 'node:util'
import { startEmbeddedMongo } from '../src/embedded-mongo/index.js'
import { answerCpuQueries } from '../src/process-cpu.js'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '27017' },
    host: { type: 'string', default: '127.0.0.1' },
    standalone: { type: 'boolean', default: false },
    'repl-set': { type: 'string', default: 'rs0' },
    history: { type: 'string' },
    advertise: { type: 'string' }
  },
  strict: true
})
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`)
  process.exit(2)
}
const historySize = values.history === undefined ? undefined : Number(values.history)
if (historySize !== undefined && (!Number.isInteger(historySize) || historySize < 1)) {
  console.error(`invalid --history ${values.history}`)
  process.exit(2)
}

const db = await startEmbeddedMongo({ port, host: values.host, standalone: values.standalone, replSet: values['repl-set'], historySize, advertise: values.advertise })
console.log(`embedded MongoDB listening at ${db.uri} (${db.replSet === undefined ? 'standalone' : `replica set ${db.replSet}`})`)
// Started by the benchmark: it reads this process's CPU time over the IPC channel.
answerCpuQueries()

let stopping = false
const shutdown = (): void => {
  if (stopping) return
  stopping = true
  db.stop().then(() => process.exit(0), (err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
// Started with an IPC channel (by a benchmark): it ends with the process that started it.
process.on('disconnect', shutdown)
