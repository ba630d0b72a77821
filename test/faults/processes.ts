// Multi-process fault tests: a standalone embedded database and real service instances,
// each a child process started (and always stopped) by the test itself.
//
// - the database is its own process, so its data outlives any instance we kill;
// - every child is killed in t.teardown (and, as a last resort, when this process exits),
//   so a failing or timed-out test leaves no orphan behind;
// - each child's output is kept (bounded) and printed as comments when the test fails.
import { createHmac, randomBytes } from 'node:crypto'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { killAll, startNodeScript, type Child } from '../setup/processes.js'
import { GiveUp, waitFor } from '../helper.js'
import type { FaultPoint } from '../../src/services/fault-points.js'
import { EXPIRE_HOLD_NAMES } from '../../src/jobs/expire-hold.js'

/** The parts of a tap Test these helpers use. */
export interface TestLike {
  teardown: (fn: () => unknown) => void
  comment: (...args: unknown[]) => void
  passing: () => boolean
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))
const CRASH_AT = fileURLToPath(new URL('./crash-at.ts', import.meta.url))
const DB_SCRIPT = fileURLToPath(new URL('../../scripts/embedded-mongo.ts', import.meta.url))

/** Shared by every instance of a test, so a token issued by one is accepted by all (and the test can mint its own). */
export const JWT_SECRET = 'fault-tests-jwt-secret-0123456789'
export const ADMIN = { email: 'admin@faults.test', password: 'admin-password-1' }

// If teardown never runs (the test process is signalled, e.g. by tap on a timeout): no orphans.
// A signal we alone listen for is re-raised, so it still ends us.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  const onSignal = (): void => {
    killAll()
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, onSignal)
      process.kill(process.pid, signal)
    }
  }
  process.on(signal, onSignal)
}

/** Registers a child for clean-up in t.teardown, and prints its output if the test fails. */
function killAtTeardown (t: TestLike, child: Child): Child {
  t.teardown(async () => {
    child.kill('SIGKILL')
    await child.waitExit(5000)
    if (!t.passing()) {
      t.comment(`---- ${child.name} (pid ${child.proc.pid ?? '?'}, exit ${JSON.stringify(child.exit ?? null)}) output, last part ----\n${child.output.slice(-8000)}`)
    }
  })
  return child
}

/** Starts a node script in a child (see test/setup/processes.ts), stopped in t.teardown. */
function startChild (t: TestLike, name: string, script: string, args: string[], env: NodeJS.ProcessEnv, execArgv: string[] = []): Child {
  return killAtTeardown(t, startNodeScript(name, script, args, { cwd: ROOT, env, execArgv }))
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; it is free again once we close). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

// ---- the database ----------------------------------------------------------------------

export interface Database { uri: string, port: number, child: Child }

/**
 * The embedded MongoDB-compatible server in a process of its own (`npm run db`), on `port`
 * (0 = any free one); a one-member replica set unless `args` has `--standalone`.
 */
export async function startDatabase (t: TestLike, port = 0, name = 'db', args: string[] = []): Promise<Database> {
  const child = startChild(t, name, DB_SCRIPT, ['--port', String(port), '--host', '127.0.0.1', ...args], process.env)
  const [uri] = await child.waitOutput(/mongodb:\/\/\S+/, 30_000)
  return { uri, port: Number(new URL(uri).port), child }
}

export { GiveUp, waitFor }

// ---- service instances -----------------------------------------------------------------

export interface Instance { name: string, url: string, port: number, child: Child }

export interface InstanceOptions {
  name: string
  uri: string
  holdSeconds?: number
  sweepSeconds?: number
  /** The instance kills itself at this fault point (test/faults/crash-at.ts installs the hook). */
  crashAt?: FaultPoint
  env?: Record<string, string>
}

/** Starts one service instance (`node --import tsx src/server.ts`) on a free port; does not wait for it. */
export async function startInstance (t: TestLike, opts: InstanceOptions): Promise<Instance> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    MONGODB_URI: opts.uri,
    JWT_SECRET,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    HOLD_SECONDS: String(opts.holdSeconds ?? 2),
    SWEEP_SECONDS: String(opts.sweepSeconds ?? 1),
    RATE_LIMIT: '0',
    AUTH_RATE_LIMIT: '0',
    // No load shedding on a saturated test machine (the protection test covers it in-process).
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
    LOG_LEVEL: 'warn',
    ...opts.crashAt !== undefined && { MODEX_CRASH_AT: opts.crashAt },
    ...opts.env
  }
  // Not inherited from the test's own environment.
  if (opts.crashAt === undefined) delete env.MODEX_CRASH_AT
  const preload = opts.crashAt !== undefined ? ['--import', CRASH_AT] : []
  const child = startChild(t, opts.name, SERVER, [], env, preload)
  return { name: opts.name, url: `http://127.0.0.1:${port}`, port, child }
}

/** Waits until GET /ready answers 200 (fails at once if the instance exits). */
export async function waitReady (instance: Instance, ms = 45_000): Promise<void> {
  await waitFor(`${instance.name} to be ready`, ms, async () => {
    if (!instance.child.running) {
      throw new GiveUp(`${instance.name} exited before it was ready: ${JSON.stringify(instance.child.exit)}\n${instance.child.output.slice(-4000)}`)
    }
    const res = await fetch(`${instance.url}/ready`, { signal: AbortSignal.timeout(2000) })
    await res.arrayBuffer()
    return res.status === 200 ? true : undefined
  }, 200)
}

/** Starts instances and waits until all are ready. */
export async function startInstances (t: TestLike, list: InstanceOptions[]): Promise<Instance[]> {
  const instances = await Promise.all(list.map((opts) => startInstance(t, opts)))
  await Promise.all(instances.map((i) => waitReady(i)))
  return instances
}

// ---- HTTP ------------------------------------------------------------------------------

export interface Answer<T = Record<string, unknown>> { status: number, body: T, headers: Headers, ms: number }

export interface CallOptions { token?: string, body?: unknown, timeoutMs?: number, headers?: Record<string, string> }

/** One JSON request with a deadline (AbortSignal.timeout); network errors and timeouts throw. */
export async function call<T = Record<string, unknown>> (base: string, method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> {
  const started = Date.now()
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000)
  })
  const text = await res.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch { /* not JSON (e.g. /metrics) */ }
  return { status: res.status, body: body as T, headers: res.headers, ms: Date.now() - started }
}

/** What a request ended as: an HTTP status, or why there was none. */
export type Failure = 'timeout' | 'refused' | 'reset' | 'other'
export type Outcome = number | Failure

/** Classifies a failed fetch: timeouts (our AbortSignal), refused connections, resets/closed sockets. */
export function failureKind (error: unknown): Failure {
  const e = error as { name?: string, cause?: { code?: string, name?: string } }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout'
  const code = e.cause?.code ?? ''
  if (code === 'ECONNREFUSED') return 'refused'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') return 'reset'
  return 'other'
}

// ---- the service's API, as the tests use it ----------------------------------------------

export interface Seat { id: string, label: string, status: 'AVAILABLE' | 'HELD' | 'BOOKED' }
export interface SeatMap { showId: string, seats: Seat[], counts: Record<string, number> }
export interface Booking { id: string, status: string, seats: Array<{ id: string, label: string }>, expiresAt: string, failureReason: string | null }

function expectStatus<T> (answer: Answer<T>, status: number, what: string): T {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body
}

export async function adminToken (base: string): Promise<string> {
  return expectStatus(await call<{ token: string }>(base, 'POST', '/api/auth/login', { body: ADMIN }), 200, 'admin login').token
}

/** Creates a show starting tomorrow; its hold time is `holdSeconds`, else the instance's HOLD_SECONDS. */
export async function createShow (base: string, token: string, totalSeats: number, seatsPerRow = 10, holdSeconds?: number): Promise<string> {
  const body = {
    name: `Fault show ${randomBytes(3).toString('hex')}`, type: 'EVENT', venue: 'Hall',
    startTime: new Date(Date.now() + 86_400_000).toISOString(), priceCents: 1000,
    seating: { totalSeats, seatsPerRow },
    ...holdSeconds !== undefined && { holdSeconds }
  }
  return expectStatus(await call<{ id: string }>(base, 'POST', '/api/admin/shows', { token, body }), 201, 'create show').id
}

export async function seatMap (base: string, showId: string): Promise<SeatMap> {
  return expectStatus(await call<SeatMap>(base, 'GET', `/api/shows/${showId}/seats`), 200, 'seat map')
}

export async function getBooking (base: string, token: string, id: string): Promise<Booking> {
  return expectStatus(await call<Booking>(base, 'GET', `/api/bookings/${id}`, { token }), 200, 'get booking')
}

export async function register (base: string, name: string): Promise<{ token: string, id: string, email: string }> {
  const email = `${name}-${randomBytes(4).toString('hex')}@faults.test`
  const body = expectStatus(await call<{ token: string, user: { id: string } }>(base, 'POST', '/api/auth/register', { body: { email, password: 'password-123', name } }), 201, 'register')
  return { token: body.token, id: body.user.id, email }
}

function base64url (data: string | Buffer): string {
  return Buffer.from(data).toString('base64url')
}

/**
 * `n` users written straight into the instances' database, each with a token signed with the
 * shared JWT_SECRET. Saves dozens of scrypt registrations (~50 ms of CPU each) on a 2-core
 * machine; the auth routes have tests of their own. The accounts must exist: a token's subject
 * is checked against the database (API.md § Auth).
 */
export async function mintUsers (uri: string, n: number): Promise<Array<{ token: string, id: string }>> {
  const { MongoClient, ObjectId } = await import('mongodb')
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 })
  try {
    const now = new Date()
    const docs = Array.from({ length: n }, () => {
      const _id = new ObjectId()
      return { _id, email: `minted-${_id.toHexString()}@faults.test`, name: 'Minted', passwordHash: 'minted: signs in by token only', role: 'USER', disabled: false, createdAt: now, updatedAt: now }
    })
    // The instances' own database: the URI's, as mongoose picks it.
    await client.db().collection('users').insertMany(docs)
    return docs.map((d) => ({ token: signUserToken(d._id.toHexString()), id: d._id.toHexString() }))
  } finally {
    await client.close()
  }
}

function signUserToken (id: string): string {
  const now = Math.floor(Date.now() / 1000)
  const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const claims = base64url(JSON.stringify({ sub: id, iat: now, exp: now + 3600 }))
  const signature = createHmac('sha256', JWT_SECRET).update(`${head}.${claims}`).digest('base64url')
  return `${head}.${claims}.${signature}`
}

/** The value of a Prometheus counter (without labels) on one instance. */
export async function counter (base: string, name: string): Promise<number> {
  const res = await call<string>(base, 'GET', '/metrics')
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  const match = String(res.body).match(new RegExp(`^${name} (\\S+)$`, 'm'))
  return match === null ? 0 : Number(match[1])
}

/** Whether the database at `uri` is a replica set (change streams, retryable writes). */
export async function isReplicaSet (uri: string): Promise<boolean> {
  const { MongoClient } = await import('mongodb')
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, directConnection: true })
  try {
    return typeof (await client.db('admin').command({ hello: 1 })).setName === 'string'
  } finally {
    await client.close()
  }
}

/** How many expire-hold jobs of these bookings are still due or running (a done one is removed, or has no next run and no lock). */
export async function expiryJobsPending (uri: string, bookingIds: string[]): Promise<number> {
  const { MongoClient } = await import('mongodb')
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 })
  try {
    return await client.db().collection('agendaJobs').countDocuments({
      name: { $in: EXPIRE_HOLD_NAMES }, 'data.bookingId': { $in: bookingIds }, $or: [{ nextRunAt: { $ne: null } }, { lockedAt: { $ne: null } }]
    })
  } finally {
    await client.close()
  }
}

/**
 * For failure diagnostics: the Agenda jobs as the database has them (who locked what, when).
 * Read directly with the driver, since a stuck job is invisible through the API.
 */
export async function agendaJobs (uri: string): Promise<string> {
  const { MongoClient } = await import('mongodb')
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 })
  try {
    const jobs = await client.db().collection('agendaJobs')
      .find({}, { projection: { name: 1, lockedAt: 1, lastModifiedBy: 1, nextRunAt: 1, lastRunAt: 1, lastFinishedAt: 1 } })
      .limit(20).toArray()
    return `now ${new Date().toISOString()}\n${jobs.map((j) => JSON.stringify(j)).join('\n')}`
  } catch (error) {
    return `agendaJobs unreadable: ${String(error)}`
  } finally {
    await client.close()
  }
}
