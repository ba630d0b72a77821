// Throughput of the embedded server (`npm run bench:db`), in each mode: standalone, replica set
// (recording every change for change streams), and replica set with one change stream open and
// read. Each mode is loaded twice:
// - through the official driver, as the app uses it. The server runs in a child process of its
//   own, and the 50 concurrent callers are split over two client processes (each with its own
//   MongoClient). On two cores the driver's own work (more of it in a replica set) weighs as
//   much as the server's, so this figure is the driver's and the server's together;
// - through a wire-level client (scripts/bench/wire-client.ts) sending the same commands with the
//   same session fields as the driver would in that mode, at a few µs a command: the server is
//   then what saturates, and its throughput is what is measured.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MongoClient, ObjectId } from 'mongodb'
import { timesOf } from '../src/process-cpu.js'
import { slot, WireConnection } from './bench/wire-client.js'

const CALLERS = 50
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2)
const DURATION_MS = Number(process.env.BENCH_MS ?? 5000)
const WARMUP_MS = 1000
const SHOWS = 10
const SEATS_PER_SHOW = 500 // 5,000 seat documents in all
const script = fileURLToPath(import.meta.url)

type Phase = 'byId' | 'claim'
/** Who sends the commands: the official driver, or the wire-level client. */
type Load = 'driver' | 'wire'
interface ClientResult { n: number, secs: number, resets: number, cpuMs: number }

/** Runs `op` from `callers` concurrent loops after a warm-up; counts completed ops. */
async function measure (callers: number, op: () => Promise<void>): Promise<{ n: number, secs: number, cpuMs: number }> {
  const run = async (ms: number): Promise<number> => {
    const end = Date.now() + ms
    let n = 0
    await Promise.all(Array.from({ length: callers }, async () => {
      while (Date.now() < end) {
        await op()
        n++
      }
    }))
    return n
  }
  await run(WARMUP_MS)
  const t0 = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  const n = await run(DURATION_MS)
  const cpu = process.cpuUsage(cpu0)
  return { n, secs: Number(process.hrtime.bigint() - t0) / 1e9, cpuMs: (cpu.user + cpu.system) / 1000 }
}

/** Client role: one process's share of the callers through the official driver, started at an agreed moment. */
async function runClient (uri: string, phase: Phase, callers: number, startAt: number, showIds: ObjectId[]): Promise<ClientResult> {
  const client = new MongoClient(uri, { maxPoolSize: callers })
  await client.connect()
  const db = client.db('bench')
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())))
  let resets = 0
  let result: { n: number, secs: number, cpuMs: number }
  if (phase === 'byId') {
    const counters = db.collection<{ _id: number, n: number }>('counters')
    result = await measure(callers, async () => {
      await counters.findOneAndUpdate({ _id: Math.floor(Math.random() * 1000) }, { $inc: { n: 1 } }, { returnDocument: 'after' })
    })
  } else {
    // A seat claim on { showId, status }, with resets so claims keep succeeding.
    const seats = db.collection('seats')
    result = await measure(callers, async () => {
      const showId = showIds[Math.floor(Math.random() * showIds.length)]
      const seat = await seats.findOneAndUpdate(
        { showId, status: 'AVAILABLE' },
        { $set: { status: 'HELD', bookingId: new ObjectId(), heldUntil: new Date(Date.now() + 60_000) } }
      )
      if (seat === null) {
        resets++
        await seats.updateMany({ showId, status: 'HELD' }, { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } })
      }
    })
  }
  await client.close()
  return { ...result, resets }
}

/**
 * The same operations through the wire-level client: the commands the driver sends for them
 * (findAndModify as a retryable write; updateMany, which is not one, without a txnNumber), one
 * connection per caller, as the driver's pool has.
 */
async function runWireClient (uri: string, replicaSet: boolean, phase: Phase, callers: number, startAt: number, showIds: ObjectId[]): Promise<ClientResult> {
  const connections = await Promise.all(Array.from({ length: callers }, async () => await WireConnection.open(uri, replicaSet)))
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())))
  let resets = 0
  // measure() keeps `callers` operations in flight: each takes a free connection and gives it back.
  const free = [...connections]
  const withConnection = async <T>(fn: (c: WireConnection) => Promise<T>): Promise<T> => {
    const c = free.pop() as WireConnection
    try { return await fn(c) } finally { free.push(c) }
  }
  let result: { n: number, secs: number, cpuMs: number }
  if (phase === 'byId') {
    const command = { findAndModify: 'counters', query: { _id: slot('int32') }, remove: false, new: true, upsert: false, update: { $inc: { n: 1 } } }
    result = await measure(callers, async () => await withConnection(async (c) => {
      await c.command('byId', 'bench', command, [Math.floor(Math.random() * 1000)], true)
    }))
  } else {
    const claim = {
      findAndModify: 'seats', query: { showId: slot('objectId'), status: 'AVAILABLE' }, remove: false, new: false, upsert: false,
      update: { $set: { status: 'HELD', bookingId: slot('objectId'), heldUntil: slot('date') } }
    }
    const reset = { update: 'seats', updates: [{ q: { showId: slot('objectId'), status: 'HELD' }, u: { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } }, multi: true }], ordered: true }
    result = await measure(callers, async () => await withConnection(async (c) => {
      const showId = showIds[Math.floor(Math.random() * showIds.length)]
      const reply = await c.command('claim', 'bench', claim, [showId, new ObjectId(), new Date(Date.now() + 60_000)], true)
      if (reply.valueIsNull) {
        resets++
        await c.command('reset', 'bench', reset, [showId])
      }
    }))
  }
  for (const c of connections) c.close()
  return { ...result, resets }
}

if (process.env.BENCH_ROLE === 'client') {
  const { uri, load, replicaSet, phase, callers, startAt, showIds } = JSON.parse(process.env.BENCH_CLIENT ?? '{}') as { uri: string, load: Load, replicaSet: boolean, phase: Phase, callers: number, startAt: number, showIds: string[] }
  const ids = showIds.map((id) => new ObjectId(id))
  const result = load === 'wire' ? await runWireClient(uri, replicaSet, phase, callers, startAt, ids) : await runClient(uri, phase, callers, startAt, ids)
  process.stdout.write(`${JSON.stringify(result)}\n`)
} else {
  type Mode = 'standalone' | 'replica-set' | 'replica-set + 1 stream'
  const MODES = ['standalone', 'replica-set', 'replica-set + 1 stream'] as const
  /**
   * CPU µs per op over the measured window: the server's own, and the client processes' together;
   * and the share of the window the server's event loop was busy (1: the server was what limited).
   */
  interface Cpu { server: number, clients: number, serverLoopBusy: number }
  /** One load's figures in one run of a mode: ops/s and CPU per op of both phases. */
  interface LoadResult { byId: number, claim: number, cpu: { byId: Cpu, claim: Cpu } }
  interface ModeResult { mode: Mode, driver: LoadResult, wire: LoadResult, streamEvents: number }
  // The driver's load over two processes (one driver saturates a core); the wire client's in one.
  const clientsOf = (load: Load): number => load === 'driver' ? CLIENTS : 1

  /** Starts a server in `mode`, loads the data, runs both phases under both loads; stops the server. */
  const runMode = async (mode: Mode): Promise<ModeResult> => {
    const replicaSet = mode !== 'standalone'
    const args = replicaSet ? [] : ['--standalone']
    // The IPC channel: the server reports its own CPU time over it (scripts/embedded-mongo.ts answers).
    const server = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./embedded-mongo.ts', import.meta.url)), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
    try {
      const uri = await new Promise<string>((resolve, reject) => {
        let out = ''
        server.stdout?.on('data', (b: Buffer) => {
          out += b.toString()
          const m = /mongodb:\/\/\S+/.exec(out)
          if (m !== null) resolve(m[0])
        })
        server.once('exit', (code) => reject(new Error(`server exited early (${code})`)))
      })

      // The data both phases work on.
      const setup = new MongoClient(uri)
      await setup.connect()
      const db = setup.db('bench')
      await db.collection<{ _id: number, n: number }>('counters').insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i, n: 0 })))
      const seats = db.collection('seats')
      const showIds = Array.from({ length: SHOWS }, () => new ObjectId())
      await seats.createIndex({ showId: 1, status: 1 })
      await seats.createIndex({ showId: 1, label: 1 }, { unique: true })
      await seats.insertMany(showIds.flatMap((showId) => Array.from({ length: SEATS_PER_SHOW }, (_, i) => ({
        showId, label: `S${i}`, status: 'AVAILABLE', bookingId: null, heldUntil: null
      }))))

      // One change stream over the whole database, read as fast as it comes (a seat map's load).
      let streamEvents = 0
      const stream = mode === 'replica-set + 1 stream' ? db.watch([], { fullDocument: 'updateLookup' }) : undefined
      const reading = stream === undefined
        ? Promise.resolve()
        : (async () => { try { for await (const ev of stream) { void ev; streamEvents++ } } catch { /* closed */ } })()
      if (stream !== undefined) await stream.tryNext()

      /** Runs one phase from the load's client processes at once; ops/s over all of them. */
      const runPhase = async (load: Load, phase: Phase): Promise<{ opsPerSec: number, cpu: Cpu }> => {
        const startAt = Date.now() + 3000 // time for every client process to boot and connect
        // The server's CPU time and event-loop busy time over the clients' measured window (after their warm-up).
        const at = async (t: number): Promise<{ cpuMs: number, loopActiveMs: number } | null> => {
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, t - Date.now())))
          return await timesOf(server)
        }
        const serverTimes = (async () => {
          const s0 = await at(startAt + WARMUP_MS)
          const s1 = await at(startAt + WARMUP_MS + DURATION_MS)
          return s0 === null || s1 === null ? { cpuMs: NaN, loopActiveMs: NaN } : { cpuMs: s1.cpuMs - s0.cpuMs, loopActiveMs: s1.loopActiveMs - s0.loopActiveMs }
        })()
        const processes = clientsOf(load)
        const results = await Promise.all(Array.from({ length: processes }, (_, i) => new Promise<ClientResult>((resolve, reject) => {
          const callers = Math.floor(CALLERS / processes) + (i < CALLERS % processes ? 1 : 0)
          const env = { ...process.env, BENCH_ROLE: 'client', BENCH_CLIENT: JSON.stringify({ uri, load, replicaSet, phase, callers, startAt, showIds }) }
          const client = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'inherit'] })
          let out = ''
          client.stdout.on('data', (b: Buffer) => { out += b.toString() })
          client.once('exit', (code) => code === 0 ? resolve(JSON.parse(out) as ClientResult) : reject(new Error(`client exited ${code}`)))
        })))
        const n = results.reduce((sum, r) => sum + r.n, 0)
        const secs = Math.max(...results.map((r) => r.secs))
        const times = await serverTimes
        const cpu = { server: times.cpuMs * 1000 / n, clients: results.reduce((sum, r) => sum + r.cpuMs, 0) * 1000 / n, serverLoopBusy: times.loopActiveMs / (secs * 1000) }
        return { opsPerSec: n / secs, cpu }
      }
      const runLoad = async (load: Load): Promise<LoadResult> => {
        const byId = await runPhase(load, 'byId')
        const claim = await runPhase(load, 'claim')
        return { byId: byId.opsPerSec, claim: claim.opsPerSec, cpu: { byId: byId.cpu, claim: claim.cpu } }
      }
      const driver = await runLoad('driver')
      const wire = await runLoad('wire')
      await stream?.close()
      await reading
      await setup.close()
      return { mode, driver, wire, streamEvents }
    } finally {
      server.kill('SIGTERM')
    }
  }

  // Standalone and replica set alternate ROUNDS times and each keeps its best run per load, so a
  // burst of load from elsewhere on the machine does not decide the ratio between them.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
  const best = { driver: new Map<Mode, LoadResult>(), wire: new Map<Mode, LoadResult>() }
  // The server's CPU per op: each mode's lowest over its runs, for the same reason.
  const leastCpu = new Map<Mode, { byId: Cpu, claim: Cpu }>()
  const streamEvents = new Map<Mode, number>()
  const keep = (r: ModeResult): void => {
    for (const load of ['driver', 'wire'] as const) {
      const b = best[load].get(r.mode)
      if (b === undefined || r[load].byId + r[load].claim > b.byId + b.claim) best[load].set(r.mode, r[load])
    }
    const c = r.driver.cpu
    const l = leastCpu.get(r.mode)
    leastCpu.set(r.mode, l === undefined
      ? c
      : { byId: c.byId.server < l.byId.server ? c.byId : l.byId, claim: c.claim.server < l.claim.server ? c.claim : l.claim })
    streamEvents.set(r.mode, r.streamEvents)
  }
  for (let i = 0; i < ROUNDS; i++) {
    keep(await runMode('standalone'))
    keep(await runMode('replica-set'))
  }
  keep(await runMode('replica-set + 1 stream'))
  const targets = { byId: 10_000, claim: 5_000 }
  const bestOf = (load: Load, m: Mode): LoadResult => best[load].get(m) as LoadResult
  const aboveTargets = (load: Load, m: Mode): boolean => bestOf(load, m).byId >= targets.byId && bestOf(load, m).claim >= targets.claim
  const ratioOf = (load: Load): { byId: number, claim: number } => ({
    byId: bestOf(load, 'replica-set').byId / bestOf(load, 'standalone').byId,
    claim: bestOf(load, 'replica-set').claim / bestOf(load, 'standalone').claim
  })
  const pct = (r: { byId: number, claim: number }): string => `${(r.byId * 100).toFixed(1)} % and ${(r.claim * 100).toFixed(1)} %`
  const meets = (r: { byId: number, claim: number }): boolean => r.byId >= 0.85 && r.claim >= 0.85
  const ratio = { driver: ratioOf('driver'), wire: ratioOf('wire') }
  const table = (load: Load, title: string): void => {
    console.log(`\n${title}`)
    console.log('mode                      findOneAndUpdate by _id (server loop busy)   claim { showId, status } (busy)   stream events')
    for (const m of MODES) {
      const r = bestOf(load, m)
      const cell = (v: number, target: number, busy: number): string => `${Math.round(v).toString().padStart(7)} ${v >= target ? 'ok    ' : 'MISSED'} (${busy.toFixed(2)})`
      console.log(`${m.padEnd(25)} ${cell(r.byId, targets.byId, r.cpu.byId.serverLoopBusy).padEnd(44)} ${cell(r.claim, targets.claim, r.cpu.claim.serverLoopBusy).padEnd(33)} ${m.endsWith('stream') ? streamEvents.get(m) : '-'}`)
    }
    console.log(`replica set / standalone: ${pct(ratio[load])} (target >= 85 %: ${meets(ratio[load]) ? 'ok' : 'MISSED'})`)
  }
  console.log(`\n${CALLERS} concurrent callers, ${DURATION_MS} ms a phase, best of ${ROUNDS} alternating runs (the stream: one run); targets ${targets.byId} and ${targets.claim} ops/s`)
  table('wire', 'The server\'s throughput: the wire-level client (one process), the server saturated')
  table('driver', `Through the official driver (${CLIENTS} client processes on the same cores as the server)`)
  // The driver runs, counted by the server's own CPU time: what the replica set (recording every
  // change, retry records, cluster time) costs the server per operation, all its threads (the
  // garbage collector's helpers too) included.
  const cpuOf = (m: Mode): { byId: Cpu, claim: Cpu } => leastCpu.get(m) as { byId: Cpu, claim: Cpu }
  const us = (v: number): string => v.toFixed(1).padStart(7)
  console.log('\nCPU µs per op under the driver\'s load (each mode\'s lowest server figure over its runs)')
  console.log('mode                      by _id: server  clients   claim: server  clients')
  for (const m of MODES) {
    const c = cpuOf(m)
    console.log(`${m.padEnd(25)} ${us(c.byId.server).padStart(15)} ${us(c.byId.clients)}  ${us(c.claim.server).padStart(14)} ${us(c.claim.clients)}`)
  }
  const capacity = { byId: cpuOf('standalone').byId.server / cpuOf('replica-set').byId.server, claim: cpuOf('standalone').claim.server / cpuOf('replica-set').claim.server }
  console.log(`server capacity (ops per server CPU second), replica set / standalone: ${pct(capacity)}`)
  const rounded = (r: LoadResult): { findOneAndUpdateById: number, claim: number, serverLoopBusy: { byId: number, claim: number } } => ({
    findOneAndUpdateById: Math.round(r.byId),
    claim: Math.round(r.claim),
    serverLoopBusy: { byId: Number(r.cpu.byId.serverLoopBusy.toFixed(2)), claim: Number(r.cpu.claim.serverLoopBusy.toFixed(2)) }
  })
  const ratio3 = (r: { byId: number, claim: number }): { byId: number, claim: number } => ({ byId: Number(r.byId.toFixed(3)), claim: Number(r.claim.toFixed(3)) })
  console.log(JSON.stringify({
    // The target: the server's own throughput, replica set against standalone.
    replicaSetRatio: ratio3(ratio.wire),
    replicaSetKeeps85: meets(ratio.wire),
    wire: Object.fromEntries(MODES.map((m) => [m, rounded(bestOf('wire', m))])),
    driverReplicaSetRatio: ratio3(ratio.driver),
    driver: Object.fromEntries(MODES.map((m) => [m, rounded(bestOf('driver', m))])),
    streamEvents: streamEvents.get('replica-set + 1 stream'),
    serverCpuUsPerOp: Object.fromEntries(MODES.map((m) => [m, { byId: Number(cpuOf(m).byId.server.toFixed(1)), claim: Number(cpuOf(m).claim.server.toFixed(1)) }])),
    clientCpuUsPerOp: Object.fromEntries(MODES.map((m) => [m, { byId: Number(cpuOf(m).byId.clients.toFixed(1)), claim: Number(cpuOf(m).claim.clients.toFixed(1)) }])),
    serverCapacityRatio: ratio3(capacity),
    withStreamAboveTargets: aboveTargets('wire', 'replica-set + 1 stream'),
    driverWithStreamAboveTargets: aboveTargets('driver', 'replica-set + 1 stream'),
    rounds: ROUNDS,
    callers: CALLERS,
    clients: CLIENTS,
    durationMs: DURATION_MS
  }))
}
