// Flash-sale benchmark (`npm run bench`, issue 4). Starts the embedded database and the
// service in processes of their own (or aims at --url), drives the service over HTTP with
// autocannon, and prints progress (stderr), a table and one final JSON line (stdout).
//
// Phases: 1 database floor (the service's seat claim straight through the driver) · 2 flash
// sale (holds, confirms, audit) · 3 seat maps (vs a static route of the same size) · 4 expiry lag,
// then its large variant (thousands of holds lapsing together while holds continue) · 5 live seat
// maps (the flash sale again, watched by SSE subscribers over two instances) · 6 cold burst (N
// buyers, a new connection each, one hold at the same instant; run before phase 2) · 7 best-available flash sale (the same users asking the service to choose
// 2–4 seats together). CPU per
// answered hold is read from the service and database processes themselves (metric / IPC answer).
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon, { type Client, type Options, type RequestSpec, type Result } from 'autocannon'
import { MongoClient, ObjectId, type Db } from 'mongodb'
import { audit, type AuditBooking, type AuditMoment, type AuditResult, type AuditSeat } from './bench/audit.js'
import { burst, call, expect, mapLimit, percentile, progress, progressDone, readCounter } from './bench/http.js'
import { startScript, stopAll, stopChild } from './bench/processes.js'
import { cpuMsOf } from '../src/process-cpu.js'

const HELP = `npm run bench -- [options]
  --seats N            seats of the flash-sale show (default 2000)
  --users N            concurrent signed-in users (default 500)
  --seconds N          flash-sale duration; phases 1 and 3 run min(N, 5) s each (default 15)
  --map-seats N        seats of the seat-map show (default 1000)
  --expiry-holds N     holds of the expiry phase (default 500)
  --expiry-large-holds N  holds of the expiry phase's large variant, lapsing together (default 2000; 0 = skip)
  --burst N            buyers of the cold burst, each a new connection, one hold each (default 500)
  --db-in-service      let the service start its own local database, as \`npm start\` does
  --url URL            aim at a running deployment instead of starting one
  --admin-email E, --admin-password P   its admin (or env ADMIN_EMAIL / ADMIN_PASSWORD)
  --mongodb-uri URI    its database, for phase 1 and the audits (else: phase 1 skipped, audit through the API)
  --cpu-prof DIR       run every process the benchmark starts with --cpu-prof into DIR (their pids are logged)
  --subscribers N      live seat-map subscribers of phase 5, over two instances (default 2000)
  --url2 URL           with --url: a second instance of that deployment for phase 5 (else all subscribers on --url)
  --phases LIST        which phases to run, e.g. 2 or 1,2 (default 1,2,3,4,5,6,7)
Against --url, turn rate limits off there (RATE_LIMIT=0 AUTH_RATE_LIMIT=0): the benchmark registers --users accounts;
and let one address hold the subscribers (MAX_STREAMS_PER_CLIENT).`

const { values: opts } = parseArgs({
  options: {
    seats: { type: 'string', default: '2000' },
    users: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '15' },
    'map-seats': { type: 'string', default: '1000' },
    'expiry-holds': { type: 'string', default: '500' },
    'expiry-large-holds': { type: 'string', default: '2000' },
    burst: { type: 'string', default: '500' },
    'db-in-service': { type: 'boolean', default: false },
    subscribers: { type: 'string', default: '2000' },
    url: { type: 'string' },
    url2: { type: 'string' },
    'admin-email': { type: 'string' },
    'admin-password': { type: 'string' },
    'mongodb-uri': { type: 'string' },
    'cpu-prof': { type: 'string' },
    phases: { type: 'string', default: '1,2,3,4,5,6,7' },
    help: { type: 'boolean', default: false }
  },
  strict: true
})
if (opts.help) {
  console.log(HELP)
  process.exit(0)
}
function positive (name: string, value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer (got ${value})`)
    process.exit(2)
  }
  return n
}
const SEATS = positive('seats', opts.seats)
const USERS = positive('users', opts.users)
const SECONDS = positive('seconds', opts.seconds)
const MAP_SEATS = positive('map-seats', opts['map-seats'])
const EXPIRY_HOLDS = positive('expiry-holds', opts['expiry-holds'])
const EXPIRY_LARGE_HOLDS = opts['expiry-large-holds'] === '0' ? 0 : positive('expiry-large-holds', opts['expiry-large-holds'])
const BURST = positive('burst', opts.burst)
/** The large expiry variant's holds: the shortest per-show hold the API allows, so they can all be made before any lapses. */
const LARGE_HOLD_SECONDS = 30
const SUBSCRIBERS = positive('subscribers', opts.subscribers)
const SHORT_SECONDS = Math.min(SECONDS, 5)
const PHASES = new Set(opts.phases.split(',').map((p) => p.trim()))
const profileArgs = opts['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts['cpu-prof']}`]
/** The started service's default hold time: the flash sale's and the expiry phase's shows use it. */
const HOLD_SECONDS = 2
const CALIBRATION_HOLDS = 200
const PASSWORD = 'bench-password-1'

const runId = randomBytes(4).toString('hex')
const started = Date.now()
const log = (text: string): void => { progressDone(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`) }

// ---- the system under test -------------------------------------------------------------

interface Target {
  base: string
  mongoUri: string | undefined
  dbName: string | undefined
  admin: { email: string, password: string }
  local: boolean
  /** Starts another instance of the service on the same database (phase 5); undefined against --url without --url2. */
  startAnother?: () => Promise<string>
}

/** A database name of our own inside a MongoDB URI, keeping its host list and options. */
function withDbName (uri: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?(\?.*)?$/.exec(uri)
  if (m === null) throw new Error(`cannot read MongoDB URI ${uri}`)
  return `${m[1]}/${dbName}${m[3] ?? ''}`
}

function dbNameOf (uri: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]+\/([^?]*)/.exec(uri)?.[1]
  return path === undefined || path === '' ? undefined : decodeURIComponent(path)
}

async function startTarget (): Promise<Target> {
  if (opts.url !== undefined) {
    const email = opts['admin-email'] ?? process.env.ADMIN_EMAIL
    const password = opts['admin-password'] ?? process.env.ADMIN_PASSWORD
    if (email === undefined || password === undefined) throw new Error('--url needs --admin-email/--admin-password (or ADMIN_EMAIL/ADMIN_PASSWORD) to create the shows')
    const mongoUri = opts['mongodb-uri']
    const url2 = opts.url2?.replace(/\/$/, '')
    return {
      base: opts.url.replace(/\/$/, ''), mongoUri, dbName: mongoUri === undefined ? undefined : dbNameOf(mongoUri), admin: { email, password }, local: false,
      ...(url2 !== undefined && { startAnother: async () => url2 })
    }
  }
  let base = opts['mongodb-uri'] ?? (process.env.MONGODB_URI === '' ? undefined : process.env.MONGODB_URI)
  if (base === undefined && !opts['db-in-service']) {
    log('starting the embedded database')
    const db = await startScript('db', '../embedded-mongo.ts', ['--port', '0'], process.env, /mongodb:\/\/\S+/, profileArgs)
    dbChild = db.child
    if (profileArgs.length > 0) log(`database pid ${db.child.pid ?? '?'}`)
    base = db.match
  }
  const dbName = `modex_bench_${runId}`
  // --db-in-service: no URI, so the service starts its local database itself (and reports its CPU).
  const mongoUri = base === undefined ? undefined : withDbName(base, dbName)
  const admin = { email: `admin-${runId}@bench.test`, password: 'bench-admin-password' }
  const execArgv = profileArgs
  log(`starting the service${execArgv.length > 0 ? ' (with --cpu-prof)' : ''}`)
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: mongoUri ?? '',
    JWT_SECRET: randomBytes(32).toString('hex'),
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    HOLD_SECONDS: String(HOLD_SECONDS),
    // The benchmark signs its users in once and uses their access tokens throughout; an hour
    // outlasts any run (the default 15 min could run out in a long --seconds run).
    ACCESS_TOKEN_SECONDS: '3600',
    RATE_LIMIT: '0',
    AUTH_RATE_LIMIT: '0',
    // Phase 5's subscribers all come from this one address.
    MAX_STREAMS_PER_CLIENT: String(SUBSCRIBERS),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn'
  }
  const service = await startScript('service', './service.ts', [], env, /listening at (http:\/\/\S+)/, execArgv)
  serviceChild = service.child
  if (profileArgs.length > 0) log(`service pid ${service.child.pid ?? '?'}`)
  const startAnother = async (): Promise<string> => {
    const another = await startScript('service 2', './service.ts', [], env, /listening at (http:\/\/\S+)/, execArgv)
    if (profileArgs.length > 0) log(`service 2 pid ${another.child.pid ?? '?'}`)
    return another.match.replace(/^listening at /, '')
  }
  return { base: service.match.replace(/^listening at /, ''), mongoUri, dbName, admin, local: true, startAnother }
}
let serviceChild: Awaited<ReturnType<typeof startScript>>['child'] | undefined
let dbChild: Awaited<ReturnType<typeof startScript>>['child'] | undefined

// ---- shows and users -------------------------------------------------------------------

interface SeatView { id: string, label: string, status: string }
interface ShowBody { id: string, holdSeconds: number }
interface BookingBody { id: string, status: string, expiresAt: string, seats: Array<{ id: string, label: string }> }

async function createShow (t: Target, token: string, name: string, seats: number, holdSeconds?: number): Promise<ShowBody> {
  return await expect(call<ShowBody>(t.base, 'POST', '/api/admin/shows', {
    name: `bench ${runId} ${name}`, type: 'EVENT', venue: 'Bench arena',
    startTime: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    priceCents: 2500,
    ...(holdSeconds !== undefined && { holdSeconds }),
    seating: { totalSeats: seats, seatsPerRow: 20 }
  }, token), 201, `create show ${name}`)
}

async function seatIdsOf (t: Target, showId: string): Promise<string[]> {
  const map = await expect(call<{ seats: SeatView[] }>(t.base, 'GET', `/api/shows/${showId}/seats`), 200, 'seat map')
  return map.seats.map((s) => s.id)
}

async function registerUsers (t: Target, n: number): Promise<string[]> {
  const t0 = Date.now()
  const tokens = await mapLimit(Array.from({ length: n }, (_, i) => i), 8, async (i) => {
    const body = await expect(call<{ token: string }>(t.base, 'POST', '/api/auth/register', {
      email: `user-${runId}-${i}@bench.test`, password: PASSWORD, name: `Bench user ${i}`
    }), 201, 'register')
    return body.token
  }, (done) => { if (done % 10 === 0 || done === n) progress(`  registering users ${done}/${n} (one scrypt hash each)`) })
  log(`registered ${n} users in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return tokens
}

/** What a hold asks for, made per request (the connection's context may remember it for the answer). */
type HoldBodyFactory = (context: Record<string, unknown>) => unknown

/** Named seats, picked afresh for each request. */
const namedSeats = (pick: () => string[]): HoldBodyFactory => () => ({ seatIds: pick() })

/** An autocannon hold request: each connection signs in as the next user and asks for what `holdBody` makes. */
function holdRequest (showId: string, tokens: string[], holdBody: HoldBodyFactory): Pick<RequestSpec, 'method' | 'path' | 'setupRequest'> {
  let nextUser = 0
  return {
    method: 'POST',
    path: `/api/shows/${showId}/bookings`,
    setupRequest: (request, context) => {
      if (typeof context.token !== 'string') context.token = tokens[nextUser++ % tokens.length]
      return { ...request, headers: { 'content-type': 'application/json', authorization: `Bearer ${context.token}` }, body: JSON.stringify(holdBody(context)) }
    }
  }
}

/** 1–4 adjacent seats; 80 % of requests in the best 20 % of the house (the front rows). */
function seatPicker (seatIds: string[], hotShare = 0.8): () => string[] {
  const hotCount = Math.max(1, Math.ceil(seatIds.length * 0.2))
  const hot = seatIds.slice(0, hotCount)
  const cold = seatIds.length > hotCount ? seatIds.slice(hotCount) : hot
  return () => {
    const zone = Math.random() < hotShare ? hot : cold
    const k = Math.min(zone.length, 1 + Math.floor(Math.random() * 4))
    const start = Math.floor(Math.random() * (zone.length - k + 1))
    return zone.slice(start, start + k)
  }
}

// ---- measuring ---------------------------------------------------------------------------

async function runCannon (options: Options, label: string, onResponse?: (client: Client, status: number, ms: number) => void): Promise<Result> {
  return await new Promise<Result>((resolve, reject) => {
    const t0 = Date.now()
    let count = 0
    const instance = autocannon(options, (error, result) => {
      clearInterval(timer)
      if (error !== null) reject(error)
      else resolve(result)
    })
    instance.on('response', (client: Client, status: number, _bytes: number, ms: number) => {
      count++
      onResponse?.(client, status, ms)
    })
    const timer = setInterval(() => {
      const s = (Date.now() - t0) / 1000
      progress(`  ${label}: ${s.toFixed(0)}/${options.duration ?? '?'} s, ${count} responses (${Math.round(count / s)}/s)`)
    }, 1000)
  })
}

async function dbCommands (t: Target): Promise<{ total: number, by: Record<string, number> }> {
  const res = await fetch(`${t.base}/metrics`)
  return readCounter(await res.text(), 'modex_db_commands_total', 'command')
}

/**
 * A counter without labels, so far: modex_hold_conflicts_from_memory_total (holds refused from the
 * seat map without a claim), modex_claims_skipped_from_memory_total (seat claims not sent).
 */
async function counterTotal (t: Target, name: string): Promise<number> {
  const res = await fetch(`${t.base}/metrics`)
  return readCounter(await res.text(), name, 'none').total
}

/** CPU milliseconds each process has used so far, as the processes report them (null: unknown). */
interface CpuReading { service: number | null, db: number | null, serviceSystem: number | null }
async function cpuNow (t: Target): Promise<CpuReading> {
  const text = await (await fetch(`${t.base}/metrics`)).text()
  const service = readCounter(text, 'modex_process_cpu_seconds_total', 'none')
  const system = readCounter(text, 'modex_process_cpu_system_seconds_total', 'none')
  // A database the service started itself reports through the service; one the bench started answers over IPC.
  const local = readCounter(text, 'modex_local_database_cpu_seconds_total', 'none')
  const db = dbChild !== undefined ? await cpuMsOf(dbChild) : local.total > 0 ? local.total * 1000 : null
  return { service: service.total > 0 ? service.total * 1000 : null, db, serviceSystem: system.total > 0 ? system.total * 1000 : null }
}
/** CPU ms per answered hold between two readings, per process (and of the service's, the kernel's part). */
function cpuPerHold (before: CpuReading, after: CpuReading, answered: number): { service: number | null, db: number | null, serviceSystem: number | null } {
  const per = (a: number | null, b: number | null): number | null => a === null || b === null || answered === 0 ? null : round((b - a) / answered, 2)
  return { service: per(before.service, after.service), db: per(before.db, after.db), serviceSystem: per(before.serviceSystem, after.serviceSystem) }
}

async function jobsCancelled (t: Target): Promise<number> {
  const { total, by } = readCounter(await (await fetch(`${t.base}/metrics`)).text(), 'modex_jobs_cancelled_total', 'job')
  if (total > 0) log(`jobs cut off for outliving their lock: ${JSON.stringify(by)}`)
  return total
}

/** Phase 1: the service's claim, straight through the driver, at the same concurrency and pool size. */
async function databaseFloor (db: Db, showId: string, concurrency: number, seconds: number): Promise<{ opsPerSec: number, misses: number }> {
  const seats = db.collection('seats')
  const show = new ObjectId(showId)
  const ids = (await seats.find({ showId: show }, { projection: { _id: 1 } }).sort({ position: 1 }).toArray()).map((d) => d._id)
  const callers = Math.min(concurrency, ids.length)
  // Each caller owns its own seats and walks them; every pass flips them AVAILABLE → HELD and
  // the next one back, with the same filter and update shape, so every operation succeeds.
  const slices = Array.from({ length: callers }, (_, c) => ids.filter((_, i) => i % callers === c))
  const state = new Map<string, 'AVAILABLE' | 'HELD'>(ids.map((id) => [id.toHexString(), 'AVAILABLE']))
  let misses = 0
  const run = async (ms: number): Promise<number> => {
    const end = Date.now() + ms
    let n = 0
    await Promise.all(slices.map(async (mine) => {
      for (let i = 0; Date.now() < end; i = (i + 1) % mine.length) {
        const _id = mine[i]
        const from = state.get(_id.toHexString()) ?? 'AVAILABLE'
        const to = from === 'AVAILABLE' ? 'HELD' : 'AVAILABLE'
        const seat = await seats.findOneAndUpdate(
          { _id, showId: show, status: from },
          { $set: to === 'HELD' ? { status: to, bookingId: new ObjectId(), heldUntil: new Date(Date.now() + 120_000) } : { status: to, bookingId: null, heldUntil: null } },
          { returnDocument: 'after', projection: { label: 1 } }
        )
        if (seat === null) misses++
        state.set(_id.toHexString(), to)
        n++
      }
    }))
    return n
  }
  await run(1000)
  const t0 = performance.now()
  const timer = setInterval(() => progress(`  database floor: ${((performance.now() - t0) / 1000).toFixed(0)}/${seconds} s`), 1000)
  const n = await run(seconds * 1000)
  clearInterval(timer)
  const opsPerSec = n / ((performance.now() - t0) / 1000)
  await seats.updateMany({ showId: show }, { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } })
  return { opsPerSec, misses }
}

/** Database commands one successful hold sends: holds of 1–4 seats, minus an idle window as long. */
async function calibrate (t: Target, tokens: string[]): Promise<{ perHold: number, by: Record<string, number>, seatsPerHold: number }> {
  const admin = await adminToken(t)
  const show = await createShow(t, admin, 'calibration', CALIBRATION_HOLDS * 4, 1800)
  const ids = await seatIdsOf(t, show.id)
  const blocks: string[][] = []
  for (let i = 0; blocks.length < CALIBRATION_HOLDS && i < ids.length;) {
    const k = 1 + (blocks.length % 4)
    blocks.push(ids.slice(i, i + k))
    i += k
  }
  await sleep(1500) // let start-up work and the show creation settle
  const before = await dbCommands(t)
  const t0 = Date.now()
  // Eight users, one per caller: the service's ≤ 5 s cache of the signed-in account stays warm, so
  // what is counted is the hold's own round trips, not each new buyer's first account lookup.
  const callers = tokens.slice(0, 8)
  const answers = await mapLimit(blocks, 8, async (seatIds, i) =>
    (await call(t.base, 'POST', `/api/shows/${show.id}/bookings`, { seatIds }, callers[i % callers.length])).status)
  const elapsed = Date.now() - t0
  const mid = await dbCommands(t)
  await sleep(elapsed)
  const after = await dbCommands(t)
  const ok = answers.filter((s) => s === 201).length
  if (ok !== blocks.length) throw new Error(`calibration: ${blocks.length - ok} of ${blocks.length} holds failed (${[...new Set(answers)].join(', ')})`)
  const by: Record<string, number> = {}
  for (const name of new Set([...Object.keys(mid.by), ...Object.keys(after.by)])) {
    const busy = (mid.by[name] ?? 0) - (before.by[name] ?? 0)
    const idle = (after.by[name] ?? 0) - (mid.by[name] ?? 0)
    const per = (busy - idle) / ok
    if (Math.abs(per) >= 0.005) by[name] = Math.round(per * 100) / 100
  }
  // getMore is the live seat maps' change stream waking up for the holds' changes: one stream per
  // instance, shared by every hold (and fewer per hold the busier it is), not a round trip a hold
  // waits on. It stays in the breakdown (dbCommandsPerHold) and out of the per-hold figure.
  const perHold = ((mid.total - before.total) - (after.total - mid.total)) / ok - (by.getMore ?? 0)
  return { perHold, by, seatsPerHold: blocks.reduce((n, b) => n + b.length, 0) / blocks.length }
}

let cachedAdminToken: string | undefined
async function adminToken (t: Target): Promise<string> {
  cachedAdminToken ??= (await expect(call<{ token: string }>(t.base, 'POST', '/api/auth/login', t.admin), 200, 'admin login')).token
  return cachedAdminToken
}

// ---- audit -------------------------------------------------------------------------------

async function readShowState (t: Target, db: Db | undefined, showId: string): Promise<{ seats: AuditSeat[], bookings: AuditBooking[] }> {
  if (db !== undefined) {
    const id = new ObjectId(showId)
    const [seats, bookings] = await Promise.all([
      db.collection('seats').find({ showId: id }, { projection: { status: 1, bookingId: 1, heldUntil: 1 } }).toArray(),
      db.collection('bookings').find({ showId: id }, { projection: { status: 1, seats: 1, expiresAt: 1 } }).toArray()
    ])
    return {
      seats: seats.map((s) => ({ id: String(s._id), status: String(s.status), bookingId: s.bookingId === null || s.bookingId === undefined ? null : String(s.bookingId), heldUntil: s.heldUntil instanceof Date ? s.heldUntil.getTime() : null })),
      bookings: bookings.map((b) => ({ id: String(b._id), status: String(b.status), seatIds: (b.seats as Array<{ id: ObjectId }>).map((s) => String(s.id)), expiresAt: (b.expiresAt as Date).getTime() }))
    }
  }
  // Through the API (the seat map has no booking ids: the audit infers owners from live bookings).
  const admin = await adminToken(t)
  const map = await expect(call<{ seats: SeatView[] }>(t.base, 'GET', `/api/shows/${showId}/seats`), 200, 'seat map')
  const bookings: AuditBooking[] = []
  for (let offset = 0; ; offset += 100) {
    const page = await expect(call<{ items: BookingBody[], total: number }>(t.base, 'GET', `/api/admin/shows/${showId}/bookings?limit=100&offset=${offset}`, undefined, admin), 200, 'show bookings')
    bookings.push(...page.items.map((b) => ({ id: b.id, status: b.status, seatIds: b.seats.map((s) => s.id), expiresAt: Date.parse(b.expiresAt) })))
    if (offset + 100 >= page.total) break
  }
  return { seats: map.seats.map((s) => ({ id: s.id, status: s.status })), bookings }
}

/** The audit's problems, grouped by kind (the seat label and booking id taken out), with a few examples. */
function logProblems (moment: AuditMoment, result: AuditResult): void {
  if (result.problems.length === 0) return
  const kinds = new Map<string, number>()
  for (const p of result.problems) {
    const kind = p.replace(/^seat \S+/, 'seat _').replace(/[0-9a-f]{24}/g, '_')
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  log(`  ${moment} audit problems: ${JSON.stringify(Object.fromEntries(kinds))}; e.g. ${result.problems.slice(0, 3).join('; ')}`)
}

async function auditShow (t: Target, db: Db | undefined, showId: string, moment: AuditMoment): Promise<AuditResult> {
  const { seats, bookings } = await readShowState(t, db, showId)
  // The clock after the reads: on a loaded machine they take a while, and a hold that lapsed (its
  // seats taken again) while they ran must not count as live because the clock was read before.
  return audit(seats, bookings, moment, Date.now())
}

// ---- the run -----------------------------------------------------------------------------

/** What every phase works with: the service, its database (when known), an admin token, the users' tokens. */
interface Run { t: Target, db: Db | undefined, admin: string, tokens: string[] }

interface FloorResult { dbFloorOpsPerSec: number }
interface CalibrationResult { dbCommandsPerHold: Record<string, number>, dbOpsPerHold: number }
interface FlashSaleResult {
  saleDbCommandsPerSec: number
  holdsPerSec: number
  holdP50Ms: number
  holdP95Ms: number
  holdP99Ms: number
  holdStatus: Record<string, number>
  confirmStatus: Record<string, number>
  oversold: number
  stuckSeats: number
  cpuMsPerHoldService: number | null
  cpuMsPerHoldDb: number | null
  /** The sale's database commands per second, over the floor (null without a floor). */
  saleDbLoadRatio: number | null
  /** Answered holds × commands per hold, over the floor (null without a floor or a calibration). */
  dbFloorRatio: number | null
}
interface SeatMapResult { seatMapReqPerSec: number, seatMapP99Ms: number, seatMapFloorReqPerSec: number | null, seatMapFloorP99Ms: number | null, seatMapBytes: number }
interface ExpiryResult {
  expiryLagP50Ms: number
  expiryLagP99Ms: number
  expiryHolds: number
  expiryNeverReleased: number
  expiryLagLargeP50Ms: number | null
  expiryLagLargeP99Ms: number | null
  expiryLargeHolds: number | null
  expiryLargeNeverReleased: number | null
}
interface BurstResult {
  burstHoldsPerSec: number
  burstP50Ms: number
  burstP99Ms: number
  burstStatus: Record<string, number>
  burstCpuMsPerHoldService: number | null
  burstCpuMsPerHoldDb: number | null
  burstDbCommandsPerHold: number | null
  burstClaimsSkipped: number
  burstOversold: number
}
interface LiveResult {
  streamSubscribers: number
  streamLagP50Ms: number | null
  streamLagP99Ms: number | null
  streamMissedChanges: number
  streamHoldsPerSec: number
  streamHoldsPerSecRatio: number | null
}
interface ExpiryResult { expiryLagP50Ms: number, expiryLagP99Ms: number, expiryHolds: number, expiryNeverReleased: number }
interface BestAvailableResult {
  bestAvailableHoldsPerSec: number
  bestAvailableP99Ms: number
  /** Seats in two live bookings, or BOOKED without a confirmed one, during or after the sale (must be 0). */
  bestAvailableOversold: number
  /** Seats still HELD after every hold lapsed (and the expiry had its few seconds). */
  bestAvailableStuckSeats: number
  /** Of the requests answered while the show still had as many free seats as they asked for, the share that got seats. */
  bestAvailableServedShare: number
  bestAvailableStatus: Record<string, number>
}

/** The bench's last line of output (JSON): every figure, null where its phase did not run. */
export interface BenchResult {
  holdsPerSec: number | null
  holdP50Ms: number | null
  holdP95Ms: number | null
  holdP99Ms: number | null
  oversold: number | null
  stuckSeats: number | null
  seatMapReqPerSec: number | null
  seatMapP99Ms: number | null
  seatMapFloorReqPerSec: number | null
  seatMapFloorP99Ms: number | null
  seatMapRatio: number | null
  seatMapBytes: number | null
  expiryLagP50Ms: number | null
  expiryLagP99Ms: number | null
  expiryHolds: number | null
  expiryLagLargeP50Ms: number | null
  expiryLagLargeP99Ms: number | null
  expiryLargeHolds: number | null
  /** Agenda jobs cut off for outliving their lock, over the whole run (read from the service). */
  jobsCancelled: number | null
  burstHoldsPerSec: number | null
  burstP50Ms: number | null
  burstP99Ms: number | null
  burstStatus: Record<string, number> | null
  burstCpuMsPerHoldService: number | null
  burstCpuMsPerHoldDb: number | null
  /** Database commands the service sent during the burst, per answered hold (every command, Agenda's and the map reads' too). */
  burstDbCommandsPerHold: number | null
  /** Seat claims not sent in the burst: another claim of the seat came back while they waited, or the seat map showed it taken. */
  burstClaimsSkipped: number | null
  /** burst holds/s ÷ sustained holds/s (target ≥ 0.6). */
  burstRatio: number | null
  /** CPU ms per answered hold in the sustained sale (confirms included), per process. */
  cpuMsPerHoldService: number | null
  cpuMsPerHoldDb: number | null
  /** Phase 5: subscribers that stayed to the end, commit → arrival lag, seat statuses a subscriber's map got wrong, holds/s watched ÷ phase 2's. */
  streamSubscribers: number | null
  streamLagP50Ms: number | null
  streamLagP99Ms: number | null
  streamMissedChanges: number | null
  streamHoldsPerSec: number | null
  streamHoldsPerSecRatio: number | null
  dbFloorOpsPerSec: number | null
  dbOpsPerHold: number | null
  dbFloorRatio: number | null
  saleDbCommandsPerSec: number | null
  saleDbLoadRatio: number | null
  dbCommandsPerHold: Record<string, number> | null
  holdStatus: Record<string, number> | null
  confirmStatus: Record<string, number> | null
  bestAvailableHoldsPerSec: number | null
  bestAvailableP99Ms: number | null
  bestAvailableOversold: number | null
  bestAvailableStuckSeats: number | null
  bestAvailableServedShare: number | null
  bestAvailableStatus: Record<string, number> | null
  settings: { seats: number, users: number, seconds: number, mapSeats: number, subscribers: number, holdSeconds: number, burst: number, expiryLargeHolds: number, dbInService: boolean, target: string }
  machine: { cpus: number, node: string }
}

/** Phase 1: how many seat claims per second the database itself takes, through the driver. */
async function databaseFloorPhase ({ t, db, admin }: Run): Promise<FloorResult | null> {
  if (db === undefined) {
    log('phase 1 skipped: no database URI (--mongodb-uri)')
    return null
  }
  log(`phase 1: database floor — claims through the driver, ${USERS} concurrent callers, ${SHORT_SECONDS} s`)
  const show = await createShow(t, admin, 'floor', SEATS, 1800)
  const floor = await databaseFloor(db, show.id, USERS, SHORT_SECONDS)
  log(`  ${Math.round(floor.opsPerSec)} claims/s (${floor.misses} misses)`)
  return { dbFloorOpsPerSec: round(floor.opsPerSec) }
}

/** dbOpsPerHold, counted on the service's own command counter. */
async function calibrationPhase ({ t, tokens }: Run): Promise<CalibrationResult> {
  log(`calibration: ${CALIBRATION_HOLDS} successful holds of 1–4 seats, then an idle window as long`)
  const cal = await calibrate(t, tokens)
  const dbOpsPerHold = Math.round(cal.perHold * 100) / 100
  log(`  ${dbOpsPerHold} database commands per successful hold (${cal.seatsPerHold} seats each on average): ${JSON.stringify(cal.by)}`)
  return { dbCommandsPerHold: cal.by, dbOpsPerHold }
}

interface Sale { elapsed: number, holdsPerSec: number, holdLatencies: number[], holdStatus: Record<string, number>, confirmStatus: Record<string, number>, saleCommands: number, cpu: { service: number | null, db: number | null, serviceSystem: number | null } }

/**
 * The flash sale itself (phases 2, 5 and 7): USERS connections holding what `holdBody` asks for
 * (picked seats, or best available) for SECONDS, half of the winners confirming; `onHold` sees
 * every hold's answer.
 */
async function runSale (t: Target, showId: string, tokens: string[], holdBody: HoldBodyFactory, label = 'flash sale',
  onHold?: (status: number, body: string, context: Record<string, unknown>) => void): Promise<Sale> {
  const holdLatencies: number[] = []
  const holdStatus: Record<string, number> = {}
  const confirmStatus: Record<string, number> = {}
  const commandsBefore = await dbCommands(t)
  const refusedBefore = await counterTotal(t, 'modex_hold_conflicts_from_memory_total')
  const cpuBefore = await cpuNow(t)
  const t0 = Date.now()
  await runCannon({
    url: t.base,
    connections: USERS,
    duration: SECONDS,
    timeout: 30,
    requests: [{
      ...holdRequest(showId, tokens, holdBody),
      onResponse: (status, body, context) => {
        context.kind = 'hold'
        holdStatus[status] = (holdStatus[status] ?? 0) + 1
        onHold?.(status, body, context)
        context.confirm = status === 201 && Math.random() < 0.5 ? (JSON.parse(body) as BookingBody).id : undefined
      }
    }, {
      method: 'POST',
      path: '/api/bookings/confirm',
      setupRequest: (request, context) => {
        if (typeof context.confirm !== 'string' || typeof context.token !== 'string') return null
        const path = `/api/bookings/${context.confirm}/confirm`
        context.confirm = undefined
        return { ...request, path, headers: { 'content-type': 'application/json', authorization: `Bearer ${context.token}` }, body: '{}' }
      },
      onResponse: (status, _body, context) => {
        context.kind = 'confirm'
        confirmStatus[status] = (confirmStatus[status] ?? 0) + 1
      }
    }]
  }, label, (client, _status, ms) => {
    if (client.requestIterator?.context?.kind === 'hold') holdLatencies.push(ms)
  })
  const elapsed = (Date.now() - t0) / 1000
  const cpuAfter = await cpuNow(t)
  // Every command the service sent during the sale (holds of both outcomes, confirms, expiries, Agenda).
  const commandsAfter = await dbCommands(t)
  const saleCommands = commandsAfter.total - commandsBefore.total
  const byCommand = Object.fromEntries(Object.entries(commandsAfter.by).flatMap(([k, v]) => v > (commandsBefore.by[k] ?? 0) ? [[k, v - (commandsBefore.by[k] ?? 0)]] : []))
  const fromMemory = await counterTotal(t, 'modex_hold_conflicts_from_memory_total') - refusedBefore
  log(`  ${label}: the service sent ${JSON.stringify(byCommand)}; ${fromMemory} holds refused from its seat map without a claim`)
  const answered = (holdStatus[201] ?? 0) + (holdStatus[409] ?? 0)
  const holdsPerSec = answered / elapsed
  // The sale's confirms (and expiries) are part of its cost: CPU per answered hold includes them.
  const cpu = cpuPerHold(cpuBefore, cpuAfter, answered)
  return { elapsed, holdsPerSec, holdLatencies, holdStatus, confirmStatus, saleCommands, cpu }
}

/** Phase 2: every user holding hot seats at once, half of the winners confirming; then the audits. */
async function flashSalePhase ({ t, db, admin, tokens }: Run, floor: FloorResult | null, calibration: CalibrationResult | null): Promise<FlashSaleResult> {
  const show = await createShow(t, admin, 'flash sale', SEATS)
  const pick = seatPicker(await seatIdsOf(t, show.id))
  log(`phase 2: flash sale — ${SEATS} seats, ${USERS} users, ${SECONDS} s, holds of ${show.holdSeconds} s, half of the winners confirm`)
  const { elapsed, holdsPerSec, holdLatencies, holdStatus, confirmStatus, saleCommands, cpu } = await runSale(t, show.id, tokens, namedSeats(pick))
  log(`  ${Math.round(holdsPerSec)} holds/s answered; holds ${JSON.stringify(holdStatus)}; confirms ${JSON.stringify(confirmStatus)}`)
  log(`  CPU per answered hold: service ${cpu.service ?? '?'} ms (kernel ${cpu.serviceSystem ?? '?'}), database ${cpu.db ?? '?'} ms`)
  const live = await auditShow(t, db, show.id, 'running')
  log(`  audit right after the sale: ${live.doubleBooked} seats in two live bookings, ${live.disagreeing} BOOKED without a CONFIRMED booking`)
  await waitQuietThenLapse(t, show.holdSeconds)
  const settled = await auditShow(t, db, show.id, 'lapsed')
  logProblems('lapsed', settled)
  log(`  audit after the holds lapsed: ${settled.seats} seats, ${settled.bookings} bookings, oversold ${settled.oversold}, stuck ${settled.stuckSeats}`)
  const floorOps = floor?.dbFloorOpsPerSec
  return {
    saleDbCommandsPerSec: round(saleCommands / elapsed),
    holdsPerSec: round(holdsPerSec),
    holdP50Ms: round(percentile(holdLatencies, 50)),
    holdP95Ms: round(percentile(holdLatencies, 95)),
    holdP99Ms: round(percentile(holdLatencies, 99)),
    holdStatus,
    confirmStatus,
    cpuMsPerHoldService: cpu.service,
    cpuMsPerHoldDb: cpu.db,
    oversold: Math.max(live.oversold, settled.oversold),
    stuckSeats: settled.stuckSeats,
    dbFloorRatio: calibration !== null && floorOps !== undefined ? round(holdsPerSec * calibration.dbOpsPerHold / floorOps, 3) : null,
    saleDbLoadRatio: floorOps !== undefined ? round(saleCommands / elapsed / floorOps, 3) : null
  }
}

/** Phase 3: seat-map reads while holds change the map, against a static route of the same size. */
async function seatMapPhase ({ t, admin, tokens }: Run): Promise<SeatMapResult> {
  const show = await createShow(t, admin, 'seat map', MAP_SEATS)
  const pick = seatPicker(await seatIdsOf(t, show.id), 0.2)
  const holders = Math.min(20, tokens.length)
  log(`phase 3: seat maps of ${MAP_SEATS} seats, ${SHORT_SECONDS} s, while ${holders} users keep holding seats of that show`)
  let holdsMade = 0
  const background = runCannon({
    url: t.base,
    connections: holders,
    duration: SHORT_SECONDS * 2 + 2,
    requests: [{
      ...holdRequest(show.id, tokens, pick),
      onResponse: (status) => { if (status === 201) holdsMade++ }
    }]
  }, 'background holds')
  await sleep(500)
  const mapRun = await runCannon({ url: `${t.base}/api/shows/${show.id}/seats`, connections: 50, duration: SHORT_SECONDS }, 'seat map')
  const floorRun = await runCannon({ url: `${t.base}/__bench/static?seats=${MAP_SEATS}`, connections: 50, duration: SHORT_SECONDS }, 'static floor')
  await background
  const floorOk = floorRun['2xx'] > 0 && floorRun.non2xx === 0
  const bytes = (await fetch(`${t.base}/api/shows/${show.id}/seats`).then(async (r) => await r.text())).length
  log(`  seat map ${Math.round(mapRun.requests.average)} req/s (p99 ${mapRun.latency.p99} ms, ${mapRun.non2xx} non-2xx); static floor ${floorOk ? `${Math.round(floorRun.requests.average)} req/s (p99 ${floorRun.latency.p99} ms)` : 'unavailable'}; ${holdsMade} holds meanwhile`)
  return {
    seatMapReqPerSec: round(mapRun.requests.average),
    seatMapP99Ms: mapRun.latency.p99,
    seatMapFloorReqPerSec: floorOk ? round(floorRun.requests.average) : null,
    seatMapFloorP99Ms: floorOk ? floorRun.latency.p99 : null,
    seatMapBytes: bytes
  }
}

/** Phase 4: how late after expiresAt each lapsed hold's seat is free again; then the large variant. */
async function expiryPhase ({ t, db, admin, tokens }: Run): Promise<ExpiryResult | null> {
  const show = await createShow(t, admin, 'expiry', EXPIRY_HOLDS)
  if (show.holdSeconds > 10) {
    log(`phase 4 skipped: the deployment's default hold is ${show.holdSeconds} s (start it with HOLD_SECONDS=2)`)
    return null
  }
  log(`phase 4: expiry lag — ${EXPIRY_HOLDS} holds of ${show.holdSeconds} s`)
  const small = await lapse(t, db, show.id, await holdEachSeat(t, show.id, tokens, 50))
  log(`  lag p50 ${small.p50} ms, p99 ${small.p99} ms over ${small.holds} holds (${small.never} not released within 15 s)`)
  const large = EXPIRY_LARGE_HOLDS > 0 ? await largeExpiry({ t, db, admin, tokens }) : null
  return {
    expiryLagP50Ms: small.p50,
    expiryLagP99Ms: small.p99,
    expiryHolds: small.holds,
    expiryNeverReleased: small.never,
    expiryLagLargeP50Ms: large?.p50 ?? null,
    expiryLagLargeP99Ms: large?.p99 ?? null,
    expiryLargeHolds: large?.holds ?? null,
    expiryLargeNeverReleased: large?.never ?? null
  }
}

/**
 * Phase 4, large variant: EXPIRY_LARGE_HOLDS one-seat holds of LARGE_HOLD_SECONDS, made as fast as
 * the service takes them so that they lapse within a few seconds of each other, while other users
 * keep holding seats of another show (whose own 2 s holds keep expiring too).
 */
async function largeExpiry ({ t, db, admin, tokens }: Run): Promise<LapseResult> {
  const show = await createShow(t, admin, 'expiry large', EXPIRY_LARGE_HOLDS, LARGE_HOLD_SECONDS)
  const busy = await createShow(t, admin, 'expiry large background', Math.max(200, MAP_SEATS))
  const pick = seatPicker(await seatIdsOf(t, busy.id), 0.2)
  log(`phase 4, large: ${EXPIRY_LARGE_HOLDS} holds of ${LARGE_HOLD_SECONDS} s lapsing together, while 20 users keep holding`)
  const t0 = Date.now()
  const expiresAt = await holdEachSeat(t, show.id, tokens, 100)
  log(`  ${expiresAt.size} holds made in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const untilLapsed = Math.max(...expiresAt.values()) - Date.now()
  const background = runCannon({
    url: t.base,
    connections: Math.min(20, tokens.length),
    duration: Math.max(5, Math.ceil(untilLapsed / 1000) + 5),
    requests: [holdRequest(busy.id, tokens, namedSeats(pick))]
  }, 'background holds')
  const result = await lapse(t, db, show.id, expiresAt)
  await background
  log(`  lag p50 ${result.p50} ms, p99 ${result.p99} ms over ${result.holds} holds (${result.never} not released within 15 s)`)
  return result
}

/** Holds every seat of the show, one seat per hold, `limit` at a time: seat id → expiresAt. */
async function holdEachSeat (t: Target, showId: string, tokens: string[], limit: number): Promise<Map<string, number>> {
  const ids = await seatIdsOf(t, showId)
  const expiresAt = new Map<string, number>()
  await mapLimit(ids, limit, async (seatId, i) => {
    const a = await call<BookingBody>(t.base, 'POST', `/api/shows/${showId}/bookings`, { seatIds: [seatId] }, tokens[i % tokens.length])
    if (a.status === 201) expiresAt.set(seatId, Date.parse(a.body.expiresAt))
  }, (done) => { if (done % 50 === 0) progress(`  holding ${done}/${ids.length}`) })
  return expiresAt
}

interface LapseResult { p50: number, p99: number, holds: number, never: number }
/** Polls until every held seat is free again; each seat's lag is when it was first seen free minus its expiresAt. */
async function lapse (t: Target, db: Db | undefined, showId: string, expiresAt: Map<string, number>): Promise<LapseResult> {
  const lags: number[] = []
  const deadline = Math.max(...expiresAt.values()) + 15_000
  const pending = new Set(expiresAt.keys())
  while (pending.size > 0 && Date.now() < deadline) {
    const free = await availableSeats(t, db, showId)
    const now = Date.now()
    for (const id of free) {
      const due = expiresAt.get(id)
      if (due !== undefined && pending.delete(id)) lags.push(Math.max(0, now - due))
    }
    progress(`  released ${expiresAt.size - pending.size}/${expiresAt.size}`)
    await sleep(50)
  }
  for (const _ of pending) lags.push(15_000)
  return { p50: percentile(lags, 50), p99: percentile(lags, 99), holds: expiresAt.size, never: pending.size }
}

/**
 * Phase 6: the first second of a sale. A fresh show, BURST buyers, each on a connection of its
 * own opened for this one request, all sent at the same instant; 1–4 seats each, mostly the front
 * rows, so many lose (a 409 is an answer too). Then an audit of the show.
 */
async function burstPhase ({ t, db, admin, tokens }: Run): Promise<BurstResult> {
  const show = await createShow(t, admin, 'burst', BURST)
  const pick = seatPicker(await seatIdsOf(t, show.id))
  log(`phase 6: cold burst — ${BURST} buyers, a new connection each, one hold each at the same instant, on ${BURST} seats`)
  await sleep(500)
  const commandsBefore = await dbCommands(t)
  const skippedBefore = await counterTotal(t, 'modex_claims_skipped_from_memory_total')
  const cpuBefore = await cpuNow(t)
  const requests = Array.from({ length: BURST }, (_, i) => ({
    path: `/api/shows/${show.id}/bookings`,
    token: tokens[i % tokens.length],
    body: JSON.stringify({ seatIds: pick() })
  }))
  const { answers, elapsedMs } = await burst(t.base, requests)
  const cpuAfter = await cpuNow(t)
  const commandsAfter = await dbCommands(t)
  const commands = commandsAfter.total - commandsBefore.total
  const byCommand = Object.fromEntries(Object.entries(commandsAfter.by).map(([k, v]) => [k, v - (commandsBefore.by[k] ?? 0)]).filter(([, v]) => v !== 0))
  const skipped = await counterTotal(t, 'modex_claims_skipped_from_memory_total') - skippedBefore
  const status: Record<string, number> = {}
  for (const a of answers) status[a.status] = (status[a.status] ?? 0) + 1
  const answered = (status[201] ?? 0) + (status[409] ?? 0)
  const latencies = answers.map((a) => a.ms)
  const cpu = cpuPerHold(cpuBefore, cpuAfter, answered)
  const holdsPerSec = answered / (elapsedMs / 1000)
  const audited = await auditShow(t, db, show.id, 'running')
  log(`  ${Math.round(holdsPerSec)} holds/s answered in ${Math.round(elapsedMs)} ms, p99 ${percentile(latencies, 99)} ms; ${JSON.stringify(status)}; CPU per answered hold: service ${cpu.service ?? '?'} ms (kernel ${cpu.serviceSystem ?? '?'}), database ${cpu.db ?? '?'} ms; ${commands} database commands ${JSON.stringify(byCommand)}, ${skipped} claims not sent`)
  return {
    burstHoldsPerSec: round(holdsPerSec),
    burstP50Ms: percentile(latencies, 50),
    burstP99Ms: percentile(latencies, 99),
    burstStatus: status,
    burstCpuMsPerHoldService: cpu.service,
    burstCpuMsPerHoldDb: cpu.db,
    burstDbCommandsPerHold: answered === 0 ? null : round(commands / answered, 2),
    burstClaimsSkipped: skipped,
    burstOversold: audited.oversold
  }
}

/** Phase 5: the flash sale again on a fresh show, watched by SUBSCRIBERS live seat-map streams over two instances. */
async function liveSeatMapPhase ({ t, db, admin, tokens }: Run, unwatched: FlashSaleResult | null): Promise<LiveResult> {
  const bases = [t.base]
  if (t.startAnother !== undefined) {
    log('starting a second instance on the same database for half of the subscribers')
    bases.push(await t.startAnother())
    await waitReady({ base: bases[1] })
  }
  const show = await createShow(t, admin, 'watched sale', SEATS)
  const pick = seatPicker(await seatIdsOf(t, show.id))
  log(`phase 5: live seat maps — ${SUBSCRIBERS} subscribers over ${bases.length} instance(s) watch a ${SEATS}-seat flash sale of ${SECONDS} s`)
  const watchers = startSubscribers()
  try {
    // Commit times come from the subscribers' process's own change stream (needs a replica set; else no lag figure).
    const opened = await watchers.ask<{ opened: number }>({ open: { bases, showId: show.id, n: SUBSCRIBERS, mongoUri: t.mongoUri, dbName: t.dbName } })
    log(`  ${opened.opened} subscribers connected, each with its snapshot`)
    const sale = await runSale(t, show.id, tokens, namedSeats(pick), 'watched flash sale')
    log(`  ${Math.round(sale.holdsPerSec)} holds/s answered while watched; holds ${JSON.stringify(sale.holdStatus)}`)
    const wait = show.holdSeconds * 1000 + 3000
    log(`  waiting ${wait / 1000} s for the last holds to lapse`)
    await sleep(wait)
    // The final map, once two reads 2 s apart agree (nothing is still changing, every stream has had time to deliver).
    let final = await finalStatuses(t, db, show.id)
    for (let i = 0; i < 10; i++) {
      await sleep(2000)
      const again = await finalStatuses(t, db, show.id)
      const same = again.size === final.size && [...again].every(([id, status]) => final.get(id) === status)
      final = again
      if (same) break
    }
    const { result } = await watchers.ask<{ result: { subscribers: number, ended: number, missed: number, lags: number[], catchUpMs: number } }>({ finish: { final: [...final] } })
    const { lags, missed, ended } = result
    log(`  ${result.subscribers - ended} subscribers to the end (${ended} ended early); ${lags.length} arrivals, lag p50 ${lags.length > 0 ? percentile(lags, 50) : '–'} ms, p99 ${lags.length > 0 ? percentile(lags, 99) : '–'} ms; ${missed} seat statuses missed (after ${result.catchUpMs} ms of catching up)`)
    return {
      streamSubscribers: result.subscribers - ended,
      streamLagP50Ms: lags.length > 0 ? percentile(lags, 50) : null,
      streamLagP99Ms: lags.length > 0 ? percentile(lags, 99) : null,
      streamMissedChanges: missed,
      streamHoldsPerSec: round(sale.holdsPerSec),
      streamHoldsPerSecRatio: unwatched !== null ? round(sale.holdsPerSec / unwatched.holdsPerSec, 3) : null
    }
  } finally {
    watchers.stop()
  }
}

/** The subscribers' process (scripts/bench/subscribers.ts): one question at a time over IPC. */
function startSubscribers (): { ask: <T>(message: unknown) => Promise<T>, stop: () => void } {
  const child = fork(fileURLToPath(new URL('./bench/subscribers.ts', import.meta.url)), [], { execArgv: [...profileArgs, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (profileArgs.length > 0) log(`subscribers pid ${child.pid ?? '?'}`)
  return {
    ask: async <T>(message: unknown): Promise<T> => await new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the subscribers' process exited (${code ?? 'signal'})`))
      child.once('exit', onExit)
      child.once('message', (answer: T & { error?: string }) => {
        child.off('exit', onExit)
        if (answer.error !== undefined) reject(new Error(answer.error))
        else resolve(answer)
      })
      child.send(message as object)
    }),
    stop: () => { if (child.connected) child.disconnect() }
  }
}

/** Every seat's status: from the database when we have it, else the seat map (which may be up to its cache age late). */
async function finalStatuses (t: Target, db: Db | undefined, showId: string): Promise<Map<string, 'AVAILABLE' | 'HELD' | 'BOOKED'>> {
  if (db !== undefined) {
    const docs = await db.collection<{ status: 'AVAILABLE' | 'HELD' | 'BOOKED' }>('seats').find({ showId: new ObjectId(showId) }, { projection: { status: 1 } }).toArray()
    return new Map(docs.map((d) => [String(d._id), d.status]))
  }
  const map = await expect(call<{ seats: Array<{ id: string, status: 'AVAILABLE' | 'HELD' | 'BOOKED' }> }>(t.base, 'GET', `/api/shows/${showId}/seats`), 200, 'seat map')
  return new Map(map.seats.map((s) => [s.id, s.status]))
}

/** Waits for /ready: right after start-up the event loop is still busy compiling and may shed load (503) for a moment. */
/**
 * Phase 7: the same users asking the service to choose `{ quantity: 2..4 }` seats together at once.
 * A 409 names how many seats were free (details.available): one answered while at least as many
 * seats as asked for were free counts against the served share (the seats were there, but not
 * together, or every choice lost its race).
 */
async function bestAvailablePhase ({ t, db, admin, tokens }: Run): Promise<BestAvailableResult> {
  const show = await createShow(t, admin, 'best available', SEATS)
  log(`phase 7: best-available flash sale — ${SEATS} seats, ${USERS} users, ${SECONDS} s, { quantity: 2..4 }, holds of ${show.holdSeconds} s, half of the winners confirm`)
  let whileSeatsRemained = 0
  let served = 0
  const askQuantity: HoldBodyFactory = (context) => {
    context.quantity = 2 + Math.floor(Math.random() * 3)
    return { quantity: context.quantity }
  }
  const sale = await runSale(t, show.id, tokens, askQuantity, 'best available', (code, body, context) => {
    if (code === 201) {
      whileSeatsRemained++
      served++
    } else if (code === 409) {
      const available = (JSON.parse(body) as { details?: { available?: number } }).details?.available ?? 0
      if (available >= Number(context.quantity)) whileSeatsRemained++
    }
  })
  // 'running', as after phase 2: two-second holds are still expiring (a booking FAILED a moment
  // before its seats free) and requests autocannon cut off may still be claiming.
  const live = await auditShow(t, db, show.id, 'running')
  logProblems('running', live)
  await waitQuietThenLapse(t, show.holdSeconds)
  const settled = await auditShow(t, db, show.id, 'lapsed')
  logProblems('lapsed', settled)
  const share = whileSeatsRemained === 0 ? 1 : served / whileSeatsRemained
  log(`  ${Math.round(sale.holdsPerSec)} holds/s answered ${JSON.stringify(sale.holdStatus)}; confirms ${JSON.stringify(sale.confirmStatus)}; ` +
    `${served} of ${whileSeatsRemained} requests answered while seats remained got seats; oversold ${Math.max(live.oversold, settled.oversold)}, stuck ${settled.stuckSeats}`)
  log(`  CPU per answered hold: service ${sale.cpu.service ?? '?'} ms, database ${sale.cpu.db ?? '?'} ms`)
  return {
    bestAvailableHoldsPerSec: round(sale.holdsPerSec),
    bestAvailableP99Ms: round(percentile(sale.holdLatencies, 99)),
    bestAvailableOversold: Math.max(live.oversold, settled.oversold),
    bestAvailableStuckSeats: settled.stuckSeats,
    bestAvailableServedShare: round(share, 3),
    bestAvailableStatus: sale.holdStatus
  }
}

/**
 * Waits until the service is quiet — for two seconds in a row no hold answered and the database
 * barely asked anything (requests autocannon cut off have drained from the service's queue, and
 * the holds they made have expired) — then a hold time more, so the 'lapsed' audit measures the
 * protocol, not a queue still being worked off. A hold counter alone is not enough: a service
 * waiting on a swamped database answers nothing for seconds while its requests are still in flight.
 */
async function waitQuietThenLapse (t: Target, holdSeconds: number): Promise<void> {
  const t0 = Date.now()
  const reading = async (): Promise<{ holds: number, commands: number }> => {
    const text = await (await fetch(`${t.base}/metrics`)).text()
    return { holds: readCounter(text, 'modex_hold_duration_seconds_count', 'le').total, commands: readCounter(text, 'modex_db_commands_total', 'command').total }
  }
  let last = await reading()
  for (let still = 0; still < 2 && Date.now() - t0 < 120_000;) {
    await sleep(1000)
    const now = await reading()
    // Agenda's own polling and the sweep stay well under this.
    still = now.holds === last.holds && now.commands - last.commands < QUIET_DB_COMMANDS_PER_SEC ? still + 1 : 0
    last = now
  }
  const wait = holdSeconds * 1000 + 3000
  log(`  quiet after ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting ${wait / 1000} s for the last holds to lapse`)
  await sleep(wait)
}
/** Fewer database commands a second than this, and no hold answered: the service is idle. */
const QUIET_DB_COMMANDS_PER_SEC = 100

async function waitReady (t: Pick<Target, 'base'>): Promise<void> {
  for (let i = 0; ; i++) {
    const ready = await call(t.base, 'GET', '/ready')
    if (ready.status === 200) return
    if (i >= 240) throw new Error(`service not ready: ${ready.status} ${JSON.stringify(ready.body)}`)
    await sleep(250)
  }
}

async function main (): Promise<void> {
  const t = await startTarget()
  let mongo: MongoClient | undefined
  if (t.mongoUri !== undefined) {
    mongo = new MongoClient(t.mongoUri)
    await mongo.connect()
  }
  const db = mongo?.db(t.dbName)
  let result: BenchResult
  try {
    await waitReady(t)
    const run: Run = { t, db, admin: await adminToken(t), tokens: await registerUsers(t, USERS) }
    const floor = PHASES.has('1') ? await databaseFloorPhase(run) : null
    const calibration = PHASES.has('1') || PHASES.has('2') ? await calibrationPhase(run) : null
    const burstRun = PHASES.has('6') ? await burstPhase(run) : null
    const sale = PHASES.has('2') ? await flashSalePhase(run, floor, calibration) : null
    const maps = PHASES.has('3') ? await seatMapPhase(run) : null
    const expiry = PHASES.has('4') ? await expiryPhase(run) : null
    const live = PHASES.has('5') ? await liveSeatMapPhase(run, sale) : null
    const best = PHASES.has('7') ? await bestAvailablePhase(run) : null
    result = benchResult(floor, calibration, sale, maps, expiry, live, burstRun, await jobsCancelled(t), best)
  } finally {
    if (t.local && db !== undefined) await db.dropDatabase().catch(() => undefined)
    await mongo?.close()
    if (serviceChild !== undefined) await stopChild(serviceChild)
    await stopAll()
  }
  report(result)
}

async function availableSeats (t: Target, db: Db | undefined, showId: string): Promise<string[]> {
  if (db !== undefined) {
    const docs = await db.collection('seats').find({ showId: new ObjectId(showId), status: 'AVAILABLE' }, { projection: { _id: 1 } }).toArray()
    return docs.map((d) => String(d._id))
  }
  // Through the API the seat map may be up to its cache age late; the lag includes that.
  const map = await expect(call<{ seats: SeatView[] }>(t.base, 'GET', `/api/shows/${showId}/seats`), 200, 'seat map')
  return map.seats.filter((s) => s.status === 'AVAILABLE').map((s) => s.id)
}

function round (n: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

function benchResult (floor: FloorResult | null, calibration: CalibrationResult | null, sale: FlashSaleResult | null, maps: SeatMapResult | null, expiry: ExpiryResult | null, live: LiveResult | null, burstRun: BurstResult | null, cancelled: number, best: BestAvailableResult | null): BenchResult {
  return {
    holdsPerSec: sale?.holdsPerSec ?? null,
    holdP50Ms: sale?.holdP50Ms ?? null,
    holdP95Ms: sale?.holdP95Ms ?? null,
    holdP99Ms: sale?.holdP99Ms ?? null,
    oversold: sale === null && burstRun === null ? null : Math.max(sale?.oversold ?? 0, burstRun?.burstOversold ?? 0),
    stuckSeats: sale?.stuckSeats ?? null,
    seatMapReqPerSec: maps?.seatMapReqPerSec ?? null,
    seatMapP99Ms: maps?.seatMapP99Ms ?? null,
    seatMapFloorReqPerSec: maps?.seatMapFloorReqPerSec ?? null,
    seatMapFloorP99Ms: maps?.seatMapFloorP99Ms ?? null,
    seatMapRatio: maps !== null && maps.seatMapFloorReqPerSec !== null ? round(maps.seatMapReqPerSec / maps.seatMapFloorReqPerSec, 3) : null,
    seatMapBytes: maps?.seatMapBytes ?? null,
    expiryLagP50Ms: expiry?.expiryLagP50Ms ?? null,
    expiryLagP99Ms: expiry?.expiryLagP99Ms ?? null,
    expiryHolds: expiry?.expiryHolds ?? null,
    expiryLagLargeP50Ms: expiry?.expiryLagLargeP50Ms ?? null,
    expiryLagLargeP99Ms: expiry?.expiryLagLargeP99Ms ?? null,
    expiryLargeHolds: expiry?.expiryLargeHolds ?? null,
    jobsCancelled: cancelled,
    burstHoldsPerSec: burstRun?.burstHoldsPerSec ?? null,
    burstP50Ms: burstRun?.burstP50Ms ?? null,
    burstP99Ms: burstRun?.burstP99Ms ?? null,
    burstStatus: burstRun?.burstStatus ?? null,
    burstCpuMsPerHoldService: burstRun?.burstCpuMsPerHoldService ?? null,
    burstCpuMsPerHoldDb: burstRun?.burstCpuMsPerHoldDb ?? null,
    burstDbCommandsPerHold: burstRun?.burstDbCommandsPerHold ?? null,
    burstClaimsSkipped: burstRun?.burstClaimsSkipped ?? null,
    burstRatio: burstRun !== null && sale !== null && sale.holdsPerSec > 0 ? round(burstRun.burstHoldsPerSec / sale.holdsPerSec, 3) : null,
    cpuMsPerHoldService: sale?.cpuMsPerHoldService ?? null,
    cpuMsPerHoldDb: sale?.cpuMsPerHoldDb ?? null,
    streamSubscribers: live?.streamSubscribers ?? null,
    streamLagP50Ms: live?.streamLagP50Ms ?? null,
    streamLagP99Ms: live?.streamLagP99Ms ?? null,
    streamMissedChanges: live?.streamMissedChanges ?? null,
    streamHoldsPerSec: live?.streamHoldsPerSec ?? null,
    streamHoldsPerSecRatio: live?.streamHoldsPerSecRatio ?? null,
    dbFloorOpsPerSec: floor?.dbFloorOpsPerSec ?? null,
    dbOpsPerHold: calibration?.dbOpsPerHold ?? null,
    dbFloorRatio: sale?.dbFloorRatio ?? null,
    saleDbCommandsPerSec: sale?.saleDbCommandsPerSec ?? null,
    saleDbLoadRatio: sale?.saleDbLoadRatio ?? null,
    dbCommandsPerHold: calibration?.dbCommandsPerHold ?? null,
    holdStatus: sale?.holdStatus ?? null,
    confirmStatus: sale?.confirmStatus ?? null,
    bestAvailableHoldsPerSec: best?.bestAvailableHoldsPerSec ?? null,
    bestAvailableP99Ms: best?.bestAvailableP99Ms ?? null,
    bestAvailableOversold: best?.bestAvailableOversold ?? null,
    bestAvailableStuckSeats: best?.bestAvailableStuckSeats ?? null,
    bestAvailableServedShare: best?.bestAvailableServedShare ?? null,
    bestAvailableStatus: best?.bestAvailableStatus ?? null,
    settings: { seats: SEATS, users: USERS, seconds: SECONDS, mapSeats: MAP_SEATS, subscribers: SUBSCRIBERS, holdSeconds: HOLD_SECONDS, burst: BURST, expiryLargeHolds: EXPIRY_LARGE_HOLDS, dbInService: opts['db-in-service'], target: opts.url ?? 'local' },
    machine: { cpus: cpus().length, node: process.version }
  }
}

/** Prints the table, then the JSON line (the last line of output). */
function report (final: BenchResult): void {
  const check = (ok: boolean | null): string => ok === null ? 'n/a' : ok ? 'ok' : 'MISSED'
  const rows: Array<[string, string, string, string]> = [
    ['1 database floor', 'claims/s through the driver', fmt(final.dbFloorOpsPerSec), ''],
    ['  calibration', 'db commands per successful hold', fmt(final.dbOpsPerHold), ''],
    ['6 cold burst', 'holds/s (201 + 409), new connection each', fmt(final.burstHoldsPerSec), ''],
    ['', 'burst latency p50 / p99 ms', `${fmt(final.burstP50Ms)} / ${fmt(final.burstP99Ms)}`, ''],
    ['', 'burst ÷ sustained holds/s', fmt(final.burstRatio), `≥ 0.6 ${check(final.burstRatio === null ? null : final.burstRatio >= 0.6)}`],
    ['', 'CPU ms per answered hold: service / db', `${fmt(final.burstCpuMsPerHoldService)} / ${fmt(final.burstCpuMsPerHoldDb)}`, ''],
    ['', 'db commands per answered hold; claims not sent', `${fmt(final.burstDbCommandsPerHold)}; ${fmt(final.burstClaimsSkipped)}`, ''],
    ['2 flash sale', 'holds/s (201 + 409)', fmt(final.holdsPerSec), ''],
    ['', 'CPU ms per answered hold: service / db', `${fmt(final.cpuMsPerHoldService)} / ${fmt(final.cpuMsPerHoldDb)}`, ''],
    ['', 'hold latency p50 / p95 / p99 ms', `${fmt(final.holdP50Ms)} / ${fmt(final.holdP95Ms)} / ${fmt(final.holdP99Ms)}`, ''],
    ['', 'dbFloorRatio (holds/s × commands ÷ floor)', fmt(final.dbFloorRatio), `≥ 0.5 ${check(final.dbFloorRatio === null ? null : final.dbFloorRatio >= 0.5)}`],
    ['', 'db commands/s during the sale (÷ floor)', `${fmt(final.saleDbCommandsPerSec)} (${fmt(final.saleDbLoadRatio)})`, ''],
    ['', 'oversold seats', fmt(final.oversold), `= 0 ${check(final.oversold === null ? null : final.oversold === 0)}`],
    ['', 'stuck seats after the holds lapsed', fmt(final.stuckSeats), `= 0 ${check(final.stuckSeats === null ? null : final.stuckSeats === 0)}`],
    ['3 seat maps', 'seat map req/s (p99 ms)', `${fmt(final.seatMapReqPerSec)} (${fmt(final.seatMapP99Ms)})`, ''],
    ['', 'static floor req/s (p99 ms)', `${fmt(final.seatMapFloorReqPerSec)} (${fmt(final.seatMapFloorP99Ms)})`, ''],
    ['', 'seat map ÷ floor', fmt(final.seatMapRatio), `≥ 0.5 ${check(final.seatMapRatio === null ? null : final.seatMapRatio >= 0.5)}`],
    ['4 expiry', 'lag p50 / p99 ms', `${fmt(final.expiryLagP50Ms)} / ${fmt(final.expiryLagP99Ms)}`, `p99 ≤ 1500 ${check(final.expiryLagP99Ms === null ? null : final.expiryLagP99Ms <= 1500)}`],
    ['', `large: ${fmt(final.expiryLargeHolds)} lapsing together, lag p50 / p99 ms`, `${fmt(final.expiryLagLargeP50Ms)} / ${fmt(final.expiryLagLargeP99Ms)}`, `p99 ≤ 1500 ${check(final.expiryLagLargeP99Ms === null ? null : final.expiryLagLargeP99Ms <= 1500)}`],
    ['', 'jobs cancelled (outlived their lock)', fmt(final.jobsCancelled), `= 0 ${check(final.jobsCancelled === null ? null : final.jobsCancelled === 0)}`],
    ['5 live seat maps', 'subscribers to the end', fmt(final.streamSubscribers), ''],
    ['', 'commit → subscriber lag p50 / p99 ms', `${fmt(final.streamLagP50Ms)} / ${fmt(final.streamLagP99Ms)}`, `p99 ≤ 1000 ${check(final.streamLagP99Ms === null ? null : final.streamLagP99Ms <= 1000)}`],
    ['', 'seat statuses missed (all subscribers)', fmt(final.streamMissedChanges), `= 0 ${check(final.streamMissedChanges === null ? null : final.streamMissedChanges === 0)}`],
    ['', 'holds/s watched (÷ phase 2)', `${fmt(final.streamHoldsPerSec)} (${fmt(final.streamHoldsPerSecRatio)})`, `≥ 0.8 ${check(final.streamHoldsPerSecRatio === null ? null : final.streamHoldsPerSecRatio >= 0.8)}`],
    ['6 best available', 'holds/s (201 + 409), p99 ms', `${fmt(final.bestAvailableHoldsPerSec)} (${fmt(final.bestAvailableP99Ms)})`, ''],
    ['', 'served while seats remained', fmt(final.bestAvailableServedShare), ''],
    ['', 'oversold seats', fmt(final.bestAvailableOversold), `= 0 ${check(final.bestAvailableOversold === null ? null : final.bestAvailableOversold === 0)}`],
    ['', 'stuck seats after the holds lapsed', fmt(final.bestAvailableStuckSeats), `= 0 ${check(final.bestAvailableStuckSeats === null ? null : final.bestAvailableStuckSeats === 0)}`]
  ]
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['phase', 'measure', 'value', 'target'][i].length))
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  console.log(`\nModex flash-sale benchmark — ${SEATS} seats, ${USERS} users, ${SECONDS} s; ${cpus().length} CPUs, Node ${process.version}\n`)
  console.log(line(['phase', 'measure', 'value', 'target']))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of rows) console.log(line(r))
  console.log('')
  console.log(JSON.stringify(final))
}

function fmt (n: number | null): string {
  return n === null ? '–' : String(n)
}

try {
  await main()
  process.exit(0)
} catch (error) {
  console.error(`\nbench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
  await stopAll()
  process.exit(1)
}
