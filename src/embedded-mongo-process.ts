// The embedded database in a process of its own, forked by local-database.ts for `npm start`
// without MONGODB_URI: the service and the database each get an event loop and a core, instead
// of the database's work queueing behind the service's on one loop. Tells its parent the URI
// over IPC, answers its CPU queries, and never outlives it.
import { startEmbeddedMongo } from './embedded-mongo/index.js'
import { answerCpuQueries } from './process-cpu.js'

export interface ReadyMessage { type: 'ready', uri: string }

if (process.send === undefined) {
  process.stderr.write('embedded-mongo-process: start it with fork() (it needs an IPC channel)\n')
  process.exit(2)
}
// A one-member replica set (change streams) unless the parent asks for a standalone.
const db = await startEmbeddedMongo({ port: 0, host: '127.0.0.1', standalone: process.argv.includes('--standalone') })
let stopping = false
const stop = (code: number): void => {
  if (stopping) return
  stopping = true
  db.stop().then(() => process.exit(code), () => process.exit(1))
}
// The parent stops it with SIGTERM; a Ctrl-C reaches the whole process group (the parent then
// asks too, harmlessly). If the parent dies without asking (crash, SIGKILL), its end of the IPC
// channel closes: exit rather than be left an orphan holding a port.
process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
process.on('disconnect', () => stop(0))
answerCpuQueries()
const ready: ReadyMessage = { type: 'ready', uri: db.uri }
process.send(ready)
