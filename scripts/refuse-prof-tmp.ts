// The service's CPU time per hold, in process: `npx tsx scripts/hold-cpu.ts [rounds]`.
// The flash-sale benchmark (`npm run bench`) measures throughput, which on a shared machine moves
// by 2× between runs; CPU time per request of the service's own process holds up better, so this
// is how a change to the hold path's cost is compared there (run it alternately on the two
// versions). The app as `npm start` builds it, on the embedded database (a replica set) in a child
// process, driven through Fastify's inject (no sockets on the HTTP side; the database's are real).
// Each round, on a fresh 2,000-seat show: 1,000 accepted two-seat holds, then 3,000 refused
// one-seat holds (their seats taken), 50 at a time; µs of this process's CPU per hold. The first
// round warms the JIT; later rounds are the figures to compare.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { startNodeScript } from '../test/setup/processes.js'

const ROUNDS = Number(process.argv[2] ?? 3)
const CONCURRENCY = 50
const ADMIN = { email: 'admin@modex.test', password: 'admin-password-1' }

// The database as `npm start` runs it: in a process of its own (killed at the latest when this one exits).
const db = startNodeScript('database', fileURLToPath(new URL('./embedded-mongo.ts', import.meta.url)), ['--port', '0'], { echoStderr: true })
try {
  const uri = (await db.waitOutput(/mongodb:\/\/\S+/, 60_000))[0]
  // Holds of ten minutes and no sweep: nothing expires while holds are measured.
  const config = loadConfig({
    NODE_ENV: 'production', MONGODB_URI: uri, LOG_LEVEL: 'silent', RATE_LIMIT: '0', AUTH_RATE_LIMIT: '0', OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
    ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, HOLD_SECONDS: '600', SWEEP_SECONDS: '3600', JWT_SECRET: randomBytes(32).toString('hex')
  })
  const app = buildApp({ config, mongoUri: uri, dbName: 'hold_cpu' }, false)
  await app.ready()
  const body = <T>(res: { body: string }): T => JSON.parse(res.body) as T
  const admin = { authorization: `Bearer ${body<{ token: string }>(await app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })).token}` }
  const users: string[] = []
  for (let i = 0; i < CONCURRENCY; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { email: `buyer${i}-${randomBytes(3).toString('hex')}@example.com`, password: 'password-123', name: 'buyer' } })
    users.push(`Bearer ${body<{ token: string }>(res).token}`)
  }

  /** Sends the holds CONCURRENCY at a time; µs of CPU per hold and the answers' status codes. */
  const run = async (showId: string, holds: Array<{ seatIds: string[] }>): Promise<{ us: number, status: Record<number, number> }> => {
    const status: Record<number, number> = {}
    let next = 0
    const before = process.cpuUsage()
    await Promise.all(users.map(async (authorization) => {
      while (next < holds.length) {
        const res = await app.inject({ method: 'POST', url: `/api/shows/${showId}/bookings`, headers: { authorization }, payload: holds[next++] })
        status[res.statusCode] = (status[res.statusCode] ?? 0) + 1
      }
    }))
    const used = process.cpuUsage(before)
    return { us: Math.round((used.user + used.system) / holds.length), status }
  }

  for (let round = 1; round <= ROUNDS; round++) {
    const show = body<{ id: string }>(await app.inject({
      method: 'POST', url: '/api/admin/shows', headers: admin,
      payload: { name: 'CPU', type: 'MOVIE', venue: 'Screen', startTime: new Date(Date.now() + 86_400_000).toISOString(), priceCents: 1000, seating: { totalSeats: 2000, seatsPerRow: 50 } }
    }))
    const ids = body<{ seats: Array<{ id: string }> }>(await app.inject({ method: 'GET', url: `/api/shows/${show.id}/seats` })).seats.map((s) => s.id)
    await new Promise((resolve) => setTimeout(resolve, 600)) // the show's cache and map settle
    const accepted = await run(show.id, Array.from({ length: round === 1 ? 1000 : 0 }, (_, i) => ({ seatIds: [ids[2 * i], ids[2 * i + 1]] })))
    await new Promise((resolve) => setTimeout(resolve, 600))
    const refused = await run(show.id, Array.from({ length: 15000 }, (_, i) => ({ seatIds: [ids[(7 * i) % 2000]] })))
    console.log(JSON.stringify({ round, acceptedUsPerHold: accepted.us, refusedUsPerHold: refused.us, status: { accepted: accepted.status, refused: refused.status } }))
  }
  await app.close()
} finally {
  await db.stop()
}
