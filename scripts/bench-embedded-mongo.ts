// Throughput of the embedded server (`npm run bench:db`), in each mode: standalone, replica set
// (recording every change for change streams), and replica set with one change stream open and
// read. Every server runs in a child process of its own. Each mode is loaded twice:
// - through a wire-level client (scripts/bench/wire-client.ts) sending the same commands with the
//   same session fields as the driver would in that mode, at a few µs a command: the server is
//   then what saturates, and its throughput is what is measured. Standalone and replica set run
//   at once and the client takes turns on them in short slices, so that both see the same
//   machine: run one after the other, their ratio moved by a third between minutes here;
// - through the official driver, as the app uses it: the 50 concurrent callers are split over
//   two client processes (each with its own MongoClient). On two cores the driver's own work
//   (more of it in a replica set) weighs as much as the server's, so this figure is the driver's
//   and the server's together.
// `BENCH_CPU_PROF_DIR=DIR` profiles every server (`--cpu-prof`, a folder per mode).
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { MongoClient, ObjectId } from 'mongodb'
import { timesOf } from '../src/process-cpu.js'
import { openConnections, runFor, runInterleaved, wireOp, type Phase, type SliceResult, type Target } from './bench/wire-load.js'

/** A whole number ≥ 1 from the environment (or its default); anything else stops the benchmark at once. */
function setting (name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1, not ${process.env[name]}`)
  return value
}
const CALLERS = 50
const CLIENTS = setting('BENCH_CLIENTS', 2)
const DURATION_MS = setting('BENCH_MS', 5000)
const WARMUP_MS = 1000
const SHOWS = 10
const SEATS_PER_SHOW = 500 // 5,000 seat documents in all
const script = fileURLToPath(import.meta.url)

/** Who sends the commands: the official driver, or the wire-level client. */
type Load = 'driver' | 'wire'
interface ClientResult { n: number, secs: number, resets: number, cpuMs: number }

/** Runs `op` from `callers` concurrent loops after a warm-up; counts completed ops. */
async function measure (callers: number, op: () => Promise<void>): Promise<{ n: number, secs: number, cpuMs: number }> {
  await runFor(WARMUP_MS, callers, op)
  const t0 = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  const n = await runFor(DURATION_MS, callers, op)
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

/** The same operations through the wire-level client, on one server. */
async function runWireClient (uri: string, replicaSet: boolean, phase: Phase, callers: number, startAt: number, showIds: ObjectId[]): Promise<ClientResult> {
  const connections = await openConnections(uri, replicaSet, callers)
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())))
  const counts = { resets: 0 }
  const result = await measure(callers, wireOp(connections, phase, showIds, counts))
  for (const c of connections) c.close()
  return { ...result, resets: counts.resets }
}

if (process.env.BENCH_ROLE === 'interleave') {
  const { targets, phase, callers, sliceMs, slices } = JSON.parse(process.env.BENCH_CLIENT ?? '{}') as { targets: Target[], phase: Phase, callers: number, sliceMs: number, slices: number }
  // The parent reads the servers' CPU times when told, and answers `ok` on stdin.
  const answers = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const results = await runInterleaved(targets, phase, callers, sliceMs, slices, async () => {
    process.stdout.write('measuring\n')
    await answers.next()
  })
  process.stdin.destroy()
  process.stdout.write(`${JSON.stringify(results)}\n`)
} else if (process.env.BENCH_ROLE === 'client') {
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
  // The driver's load over two processes (one driver saturates a core); the wire client's in one.
  const clientsOf = (load: Load): number => load === 'driver' ? CLIENTS : 1

  interface Server { mode: Mode, process: ChildProcess, uri: string, showIds: ObjectId[], setup: MongoClient, stop: () => Promise<void> }
  /** Starts a server in `mode` in a child process of its own and loads the data both phases work on. */
  const startServer = async (mode: Mode): Promise<Server> => {
    const replicaSet = mode !== 'standalone'
    // The IPC channel: the server reports its own CPU time over it (scripts/embedded-mongo.ts answers).
    const profile = process.env.BENCH_CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}/${mode.replace(/\W+/g, '-')}`]
    const server = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(new URL('./embedded-mongo.ts', import.meta.url)), '--port', '0', ...(replicaSet ? [] : ['--standalone'])], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
    const exited = new Promise<void>((resolve) => server.once('exit', () => { resolve() }))
    const stop = async (): Promise<void> => { server.kill('SIGTERM'); await exited }
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
      return { mode, process: server, uri, showIds, setup, stop: async () => { await setup.close(); await stop() } }
    } catch (error) {
      await stop()
      throw error
    }
  }

  /**
   * Runs a client process of this script in `role`; resolves with its last stdout line, parsed.
   * `onLine` sees every line before it; when it returns a promise, the line `ok` is written to the
   * client's stdin once that settles (the interleaved client waits for it before measuring).
   */
  const runClientProcess = async <T>(role: string, config: unknown, onLine?: (line: string) => void | Promise<void>): Promise<T> => await new Promise<T>((resolve, reject) => {
    const env = { ...process.env, BENCH_ROLE: role, BENCH_CLIENT: JSON.stringify(config) }
    const client = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    let last = ''
    client.stdout.on('data', (b: Buffer) => {
      out += b.toString()
      const lines = out.split('\n')
      out = lines.pop() as string
      for (const line of lines) {
        last = line
        const answered = onLine?.(line)
        if (answered instanceof Promise) void answered.finally(() => { client.stdin.write('ok\n') })
      }
    })
    // 'close', not 'exit': only then has all of its output been read.
    client.once('close', (code) => {
      if (code !== 0) { reject(new Error(`${role} client exited ${code}`)); return }
      try { resolve(JSON.parse(last) as T) } catch { reject(new Error(`${role} client ended without a result (last line: ${JSON.stringify(last)})`)) }
    })
  })

  /** Loads a started server with one phase from the load's client processes at once; ops/s over all of them. */
  const runPhase = async (server: Server, load: Load, phase: Phase): Promise<{ opsPerSec: number, cpu: Cpu }> => {
    const startAt = Date.now() + 3000 // time for every client process to boot and connect
    // The server's CPU time and event-loop busy time over the clients' measured window (after their warm-up).
    const at = async (t: number): Promise<{ cpuMs: number, loopActiveMs: number } | null> => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, t - Date.now())))
      return await timesOf(server.process)
    }
    const serverTimes = (async () => {
      const s0 = await at(startAt + WARMUP_MS)
      const s1 = await at(startAt + WARMUP_MS + DURATION_MS)
      return s0 === null || s1 === null ? { cpuMs: NaN, loopActiveMs: NaN } : { cpuMs: s1.cpuMs - s0.cpuMs, loopActiveMs: s1.loopActiveMs - s0.loopActiveMs }
    })()
    const processes = clientsOf(load)
    const replicaSet = server.mode !== 'standalone'
    const results = await Promise.all(Array.from({ length: processes }, async (_, i) => {
      const callers = Math.floor(CALLERS / processes) + (i < CALLERS % processes ? 1 : 0)
      return await runClientProcess<ClientResult>('client', { uri: server.uri, load, replicaSet, phase, callers, startAt, showIds: server.showIds })
    }))
    const n = results.reduce((sum, r) => sum + r.n, 0)
    const secs = Math.max(...results.map((r) => r.secs))
    const times = await serverTimes
    const cpu = { server: times.cpuMs * 1000 / n, clients: results.reduce((sum, r) => sum + r.cpuMs, 0) * 1000 / n, serverLoopBusy: times.loopActiveMs / (secs * 1000) }
    return { opsPerSec: n / secs, cpu }
  }
  const runLoad = async (server: Server, load: Load): Promise<LoadResult> => {
    const byId = await runPhase(server, load, 'byId')
    const claim = await runPhase(server, load, 'claim')
    return { byId: byId.opsPerSec, claim: claim.opsPerSec, cpu: { byId: byId.cpu, claim: claim.cpu } }
  }

  /**
   * The server's own figures, standalone against replica set: both servers run at once and the
   * wire-level client takes turns on them in short slices (runInterleaved), so both see the same
   * machine. Server CPU per op: each server's CPU time over the measured rounds (it is idle
   * outside its slices) ÷ its ops; its event loop's busy share: busy time ÷ its slices' time.
   */
  const SLICE_MS = setting('BENCH_SLICE_MS', 400)
  const ROUNDS = setting('BENCH_ROUNDS', 2)
  const SLICES = Math.max(1, Math.round(DURATION_MS * 2 / SLICE_MS))
  const runSideBySide = async (): Promise<Map<Mode, LoadResult>> => {
    const servers: Server[] = []
    try {
      servers.push(await startServer('standalone'), await startServer('replica-set'))
      const phaseResult = async (phase: Phase): Promise<Array<{ opsPerSec: number, cpu: Cpu }>> => {
        let t0: Array<Promise<{ cpuMs: number, loopActiveMs: number } | null>> = []
        const results = await runClientProcess<SliceResult[]>('interleave', {
          targets: servers.map((s) => ({ uri: s.uri, replicaSet: s.mode !== 'standalone', showIds: s.showIds })), phase, callers: CALLERS, sliceMs: SLICE_MS, slices: SLICES
        }, async (line) => {
          if (line !== 'measuring') return
          // Read before the client goes on: it waits for the answer (no server is working meanwhile).
          t0 = servers.map(async (s) => await timesOf(s.process))
          await Promise.all(t0)
        })
        const t1 = await Promise.all(servers.map(async (s) => await timesOf(s.process)))
        const before = await Promise.all(t0)
        return results.map((r, i) => {
          const a = before[i]
          const b = t1[i]
          const cpuMs = a == null || b == null ? NaN : b.cpuMs - a.cpuMs
          const loopMs = a == null || b == null ? NaN : b.loopActiveMs - a.loopActiveMs
          return { opsPerSec: r.n / r.secs, cpu: { server: cpuMs * 1000 / r.n, clients: NaN, serverLoopBusy: loopMs / (r.secs * 1000) } }
        })
      }
      const byId = await phaseResult('byId')
      const claim = await phaseResult('claim')
      return new Map(servers.map((s, i) => [s.mode, { byId: byId[i].opsPerSec, claim: claim[i].opsPerSec, cpu: { byId: byId[i].cpu, claim: claim[i].cpu } }]))
    } finally {
      for (const s of servers) await s.stop()
    }
  }

  // 1. The server's throughput (the target): standalone and replica set side by side.
  const wire = await runSideBySide()
  for (const [m, r] of wire) console.log(`side by side, ${m}: ${Math.round(r.byId)} ops/s by _id (${r.cpu.byId.server.toFixed(1)} µs server CPU each), ${Math.round(r.claim)} claims/s (${r.cpu.claim.server.toFixed(1)} µs)`)
  // 2. Through the driver: standalone and replica set alternate ROUNDS times and each keeps its
  // best run, so a burst of load from elsewhere on the machine does not decide the ratio.
  const driver = new Map<Mode, LoadResult>()
  const keep = (m: Mode, r: LoadResult): void => {
    const b = driver.get(m)
    if (b === undefined || r.byId + r.claim > b.byId + b.claim) driver.set(m, r)
  }
  for (let i = 0; i < ROUNDS; i++) {
    for (const m of ['standalone', 'replica-set'] as const) {
      const server = await startServer(m)
      try { keep(m, await runLoad(server, 'driver')) } finally { await server.stop() }
    }
  }
  // 3. One change stream over the whole database, read as fast as it comes (a seat map's load),
  // under both loads: its figures are held to the absolute targets.
  let streamEvents = 0
  {
    const m = 'replica-set + 1 stream'
    const server = await startServer(m)
    try {
      const stream = server.setup.db('bench').watch([], { fullDocument: 'updateLookup' })
      const reading = (async () => { try { for await (const ev of stream) { void ev; streamEvents++ } } catch { /* closed */ } })()
      await stream.tryNext()
      wire.set(m, await runLoad(server, 'wire'))
      driver.set(m, await runLoad(server, 'driver'))
      await stream.close()
      await reading
    } finally {
      await server.stop()
    }
  }

  const results = { wire, driver }
  const targets = { byId: 10_000, claim: 5_000 }
  const bestOf = (load: Load, m: Mode): LoadResult => results[load].get(m) as LoadResult
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
      console.log(`${m.padEnd(25)} ${cell(r.byId, targets.byId, r.cpu.byId.serverLoopBusy).padEnd(44)} ${cell(r.claim, targets.claim, r.cpu.claim.serverLoopBusy).padEnd(33)} ${m.endsWith('stream') ? streamEvents : '-'}`)
    }
    console.log(`replica set / standalone: ${pct(ratio[load])} (target >= 85 %: ${meets(ratio[load]) ? 'ok' : 'MISSED'})`)
  }
  console.log(`\n${CALLERS} concurrent callers; targets ${targets.byId} and ${targets.claim} ops/s; a phase: ${DURATION_MS} ms measured (side by side: ${SLICES} slices of ${SLICE_MS} ms for each server)`)
  table('wire', `The server's throughput: the wire-level client (one process), the server saturated; standalone and replica set side by side (${SLICES} slices of ${SLICE_MS} ms each, in turn), the stream alone`)
  table('driver', `Through the official driver (${CLIENTS} client processes on the same cores as the server; best of ${ROUNDS} alternating runs, the stream: one run)`)
  const us = (v: number): string => Number.isNaN(v) ? '      -' : v.toFixed(1).padStart(7)
  console.log('\nCPU µs per op: the server under the wire load; the server and its clients under the driver\'s')
  console.log('mode                      by _id: wire  driver  clients   claim: wire  driver  clients')
  for (const m of MODES) {
    const w = bestOf('wire', m).cpu
    const d = bestOf('driver', m).cpu
    console.log(`${m.padEnd(25)} ${us(w.byId.server).padStart(13)} ${us(d.byId.server)} ${us(d.byId.clients)}  ${us(w.claim.server).padStart(11)} ${us(d.claim.server)} ${us(d.claim.clients)}`)
  }
  // Ops per server CPU second, replica set ÷ standalone: what recording every change, retry
  // records and the cluster time cost the server per operation, all its threads (the garbage
  // collector's helpers too) included.
  const capacity = {
    byId: bestOf('wire', 'standalone').cpu.byId.server / bestOf('wire', 'replica-set').cpu.byId.server,
    claim: bestOf('wire', 'standalone').cpu.claim.server / bestOf('wire', 'replica-set').cpu.claim.server
  }
  console.log(`server capacity (ops per server CPU second, side by side), replica set / standalone: ${pct(capacity)}`)
  const rounded = (r: LoadResult): { findOneAndUpdateById: number, claim: number, serverLoopBusy: { byId: number, claim: number } } => ({
    findOneAndUpdateById: Math.round(r.byId),
    claim: Math.round(r.claim),
    serverLoopBusy: { byId: Number(r.cpu.byId.serverLoopBusy.toFixed(2)), claim: Number(r.cpu.claim.serverLoopBusy.toFixed(2)) }
  })
  const ratio3 = (r: { byId: number, claim: number }): { byId: number, claim: number } => ({ byId: Number(r.byId.toFixed(3)), claim: Number(r.claim.toFixed(3)) })
  const cpuUs = (load: Load, who: 'server' | 'clients'): Record<string, { byId: number, claim: number }> => Object.fromEntries(MODES.map((m) => {
    const c = bestOf(load, m).cpu
    return [m, { byId: Number(c.byId[who].toFixed(1)), claim: Number(c.claim[who].toFixed(1)) }]
  }))
  console.log(JSON.stringify({
    // The target: the server's own throughput, replica set against standalone, side by side.
    replicaSetRatio: ratio3(ratio.wire),
    replicaSetKeeps85: meets(ratio.wire),
    wire: Object.fromEntries(MODES.map((m) => [m, rounded(bestOf('wire', m))])),
    serverCpuUsPerOp: cpuUs('wire', 'server'),
    serverCapacityRatio: ratio3(capacity),
    withStreamAboveTargets: aboveTargets('wire', 'replica-set + 1 stream'),
    driverReplicaSetRatio: ratio3(ratio.driver),
    driver: Object.fromEntries(MODES.map((m) => [m, rounded(bestOf('driver', m))])),
    driverServerCpuUsPerOp: cpuUs('driver', 'server'),
    driverClientCpuUsPerOp: cpuUs('driver', 'clients'),
    driverWithStreamAboveTargets: aboveTargets('driver', 'replica-set + 1 stream'),
    streamEvents,
    slices: SLICES,
    sliceMs: SLICE_MS,
    rounds: ROUNDS,
    callers: CALLERS,
    clients: CLIENTS,
    durationMs: DURATION_MS
  }))
}
