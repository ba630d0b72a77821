// The service as `npm run bench` runs it: exactly src/server.ts's app, plus one static route
// (GET /__bench/static) answering a constant JSON body the size of a seat map, the framework
// floor of phase 3. Prints `modex bench service listening at <url>` once it listens.
import closeWithGrace from 'close-with-grace'
import { Types } from 'mongoose'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

const config = loadConfig()
if (config.mongodbUri === undefined) {
  process.stderr.write('bench service: MONGODB_URI is required\n')
  process.exit(1)
}
const app = buildApp({ config, mongoUri: config.mongodbUri })

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

closeWithGrace({ delay: 10_000 }, async () => { await app.close() })
const address = await app.listen({ port: config.port, host: config.host })
process.stdout.write(`modex bench service listening at ${address}\n`)
