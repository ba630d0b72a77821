// The service as `npm run bench` runs it: exactly src/server.ts's app (and, without MONGODB_URI,
// its local database started the same way), plus one static route
// (GET /__bench/static) answering a constant JSON body the size of a seat map, the framework
// floor of phase 3. Prints `modex bench service listening at <url>` once it listens.
import '../../src/debug-colors.js'
import closeWithGrace from 'close-with-grace'
import { Types } from 'mongoose'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { startLocalDatabase } from '../../src/local-database.js'
import { exposeDatabaseCpu } from '../../src/local-database-process.js'
import pino from 'pino'

const config = loadConfig()
// Without MONGODB_URI (bench --db-in-service) it starts its local database as `npm start` does.
const log = pino({ level: config.logLevel })
const database = config.mongodbUri === undefined ? await startLocalDatabase(log) : undefined
const app = buildApp({ config, mongoUri: config.mongodbUri ?? database?.uri ?? '' })

/** A seat map of `n` seats, serialised once: same shape and about the same size as the real one. */
function staticSeatMap (n: number): string {
  const seats = Array.from({ length: n }, (_, i) => {
    const row = String.fromCharCode(65 + Math.floor(i / 26) % 26) + (i >= 676 ? 'A' : '')
    const number = (i % 26) + 1
    return { id: new Types.ObjectId().toHexString(), label: `${row}${number}`, row, number, status: i % 3 === 0 ? 'HELD' : 'AVAILABLE' }
  })
  return JSON.stringify({ showId: new Types.ObjectId().toHexString(), seats, counts: { AVAILABLE: n - Math.ceil(n / 3), HELD: Math.ceil(n / 3), BOOKED: 0 } })
}
const bodies = new Map<number, string>()
app.get<{ Querystring: { seats?: string } }>('/__bench/static', { schema: { hide: true } }, async (request, reply) => {
  const n = Math.min(5000, Math.max(1, Number(request.query.seats ?? 1000) || 1000))
  let body = bodies.get(n)
  if (body === undefined) {
    body = staticSeatMap(n)
    bodies.set(n, body)
  }
  return reply.type('application/json; charset=utf-8').send(body)
})

closeWithGrace({ delay: 10_000 }, async () => {
  await app.close()
  await database?.stop()
})
const address = await app.listen({ port: config.port, host: config.host })
if (database?.cpuMs !== undefined) exposeDatabaseCpu(app.metrics.registry, database.cpuMs)
process.stdout.write(`modex bench service listening at ${address}\n`)
