// The service's CPU time per request over real HTTP, by kind of request:
// `npx tsx scripts/request-cpu.ts [--kinds health,static,invalid,refused] [--seconds 4] [--burst N] [--cpu-prof DIR]`.
// What a request costs the service before any database work: the framework floor (a health
// check, the benchmark's static route), a hold refused by validation (400), and a hold refused
// from the seat map (409, no round trip), each driven by autocannon (50 keep-alive connections)
// at a service and database started as `npm run bench` starts them. µs of service CPU per
// request, read from the service's own `modex_process_cpu_seconds_total`; each kind runs twice
// (the first warms the JIT). `--burst N` also sends each POST kind as N requests at once, a new
// connection each (the bench's cold burst), and gives the client's CPU per request as well.
// `--cpu-prof DIR` profiles the service (its pid is logged).
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import autocannon, { type Result } from 'autocannon'
import { burst } from './bench/http.js'
import { startScript, stopAll } from './bench/processes.js'

const { values: opts } = parseArgs({
  options: {
    kinds: { type: 'string', default: 'health,static,invalid,refused' },
    seconds: { type: 'string', default: '4' },
    burst: { type: 'string', default: '0' },
    'cpu-prof': { type: 'string' }
  }
})
const SECONDS = Number(opts.seconds)
const BURST = Number(opts.burst)
const admin = { email: 'admin@request-cpu.test', password: 'request-cpu-admin-password' }

try {
  const db = await startScript('db', '../embedded-mongo.ts', ['--port', '0'], process.env, /mongodb:\/\/\S+/)
  const profile = opts['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts['cpu-prof']}`]
  const service = await startScript('service', './service.ts', [], {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: `${db.match}request_cpu`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    HOLD_SECONDS: '600',
    ACCESS_TOKEN_SECONDS: '3600',
    RATE_LIMIT: '0',
    AUTH_RATE_LIMIT: '0',
    LOG_LEVEL: 'warn'
  }, /listening at (http:\/\/\S+)/, profile)
  if (profile.length > 0) console.error(`service pid ${service.child.pid ?? '?'}`)
  const base = service.match.replace(/^listening at /, '')

  const call = async <T>(method: string, path: string, body?: unknown, token?: string): Promise<T> => {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
    return await res.json() as T
  }
  const cpuMs = async (): Promise<number> => {
    const metrics = await (await fetch(`${base}/metrics`)).text()
    const m = /^modex_process_cpu_seconds_total (\S+)/m.exec(metrics)
    if (m === null) throw new Error('the service reports no modex_process_cpu_seconds_total')
    return Number(m[1]) * 1000
  }

  // A 100-seat show whose seats are all held (for ten minutes): every hold of one is refused.
  const adminToken = (await call<{ token: string }>('POST', '/api/auth/login', admin)).token
  const user = (await call<{ token: string }>('POST', '/api/auth/register', { email: 'buyer@request-cpu.test', password: 'password-123', name: 'buyer' })).token
  const show = await call<{ id: string }>('POST', '/api/admin/shows', {
    name: 'request cpu', type: 'EVENT', venue: 'Hall', startTime: new Date(Date.now() + 86_400_000).toISOString(), priceCents: 100, seating: { totalSeats: 100, seatsPerRow: 10 }
  }, adminToken)
  const ids = (await call<{ seats: Array<{ id: string }> }>('GET', `/api/shows/${show.id}/seats`)).seats.map((s) => s.id)
  for (let i = 0; i < 50; i++) await call('POST', `/api/shows/${show.id}/bookings`, { seatIds: [ids[2 * i], ids[2 * i + 1]] }, user)
  await new Promise((resolve) => setTimeout(resolve, 1500)) // the show's caches settle

  const holds = `/api/shows/${show.id}/bookings`
  const kinds: Record<string, { method: 'GET' | 'POST', path: string, body?: string, signedIn?: boolean }> = {
    health: { method: 'GET', path: '/health' },
    static: { method: 'GET', path: '/__bench/static?seats=1' },
    invalid: { method: 'POST', path: holds, body: JSON.stringify({ seatIds: ['not-an-id'] }), signedIn: true },
    refused: { method: 'POST', path: holds, body: JSON.stringify({ seatIds: [ids[7]] }), signedIn: true }
  }
  const chosen = opts.kinds.split(',')
  for (const kind of chosen) if (kinds[kind] === undefined) throw new Error(`unknown kind ${kind} (${Object.keys(kinds).join(', ')})`)
  for (const round of [1, 2]) {
    for (const kind of chosen) {
      const spec = kinds[kind]
      const before = await cpuMs()
      const result = await new Promise<Result>((resolve, reject) => {
        autocannon({
          url: base + spec.path,
          method: spec.method,
          body: spec.body,
          connections: 50,
          duration: SECONDS,
          headers: { 'content-type': 'application/json', ...(spec.signedIn === true && { authorization: `Bearer ${user}` }) }
        }, (error, done) => { if (error === null) resolve(done); else reject(error) })
      })
      const used = await cpuMs() - before
      const n = result.requests.total
      console.log(`round ${round}  ${kind.padEnd(8)} ${String(n).padStart(7)} requests  ${Math.round(n / SECONDS)}/s  service ${Math.round(used * 1000 / n)} µs/request  ${JSON.stringify(Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count])))}`)
      if (BURST > 0 && spec.body !== undefined) {
        const cpuBefore = await cpuMs()
        const clientBefore = process.cpuUsage()
        const { answers, elapsedMs } = await burst(base, Array.from({ length: BURST }, () => ({ path: spec.path, body: spec.body as string, token: user })))
        const client = process.cpuUsage(clientBefore)
        const burstUsed = await cpuMs() - cpuBefore
        const codes: Record<string, number> = {}
        for (const a of answers) codes[a.status] = (codes[a.status] ?? 0) + 1
        console.log(`round ${round}  ${kind.padEnd(8)} burst of ${BURST}, a new connection each: ${Math.round(BURST / (elapsedMs / 1000))}/s  service ${Math.round(burstUsed * 1000 / BURST)} µs/request, client ${Math.round((client.user + client.system) / BURST)} µs/request  ${JSON.stringify(codes)}`)
      }
    }
  }
} finally {
  await stopAll()
}
