// CPU time per operation of the embedded server and of its client, in one mode at a time:
// `npx tsx scripts/embedded-mongo-cpu.ts [standalone|replica-set|stream] [ops]`.
// Throughput (`npm run bench:db`) needs a quiet machine; CPU time per operation holds up far
// better on a shared one, so this is how a change to the server's own cost is compared there.
// One client process (this one, 50 concurrent callers through the official driver) and the
// server in a child process that reports its CPU time over IPC; same operations as bench:db.
// `SERVER_CPU_PROF_DIR=DIR` profiles the server (`--cpu-prof`): two modes' profiles side by side
// show where a replica set's own work goes.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MongoClient, ObjectId } from 'mongodb'
import { cpuMsOf } from '../src/process-cpu.js'

const mode = process.argv[2] ?? 'replica-set'
if (!['standalone', 'replica-set', 'stream'].includes(mode)) {
  console.error('usage: embedded-mongo-cpu.ts [standalone|replica-set|stream] [ops]')
  process.exit(2)
}
const OPS = Number(process.argv[3] ?? 30_000)
const CALLERS = 50
const server = spawn(process.execPath, [...(process.env.SERVER_CPU_PROF_DIR !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SERVER_CPU_PROF_DIR}`] : []), '--import', 'tsx', fileURLToPath(new URL('./embedded-mongo.ts', import.meta.url)), '--port', '0', ...(mode === 'standalone' ? ['--standalone'] : [])], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
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
  const client = new MongoClient(uri, { maxPoolSize: CALLERS })
  await client.connect()
  const db = client.db('bench')
  const counters = db.collection<{ _id: number, n: number }>('counters')
  await counters.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i, n: 0 })))
  const seats = db.collection('seats')
  const showIds = Array.from({ length: 10 }, () => new ObjectId())
  await seats.createIndex({ showId: 1, status: 1 })
  await seats.createIndex({ showId: 1, label: 1 }, { unique: true })
  await seats.insertMany(showIds.flatMap((showId) => Array.from({ length: 500 }, (_, i) => ({ showId, label: `S${i}`, status: 'AVAILABLE', bookingId: null, heldUntil: null }))))
  let events = 0
  const stream = mode === 'stream' ? db.watch([], { fullDocument: 'updateLookup' }) : undefined
  const reading = stream === undefined ? Promise.resolve() : (async () => { try { for await (const ev of stream) { void ev; events++ } } catch { /* closed */ } })()
  if (stream !== undefined) await stream.tryNext()

  /** Runs `n` ops from CALLERS loops; server and client CPU µs per op. */
  const run = async (n: number, op: () => Promise<void>): Promise<{ server: number, client: number }> => {
    let left = n
    const own = process.cpuUsage()
    const s0 = await cpuMsOf(server)
    await Promise.all(Array.from({ length: CALLERS }, async () => { while (left-- > 0) await op() }))
    const s1 = await cpuMsOf(server)
    const c = process.cpuUsage(own)
    if (s0 === null || s1 === null) throw new Error('the server did not report its CPU time')
    return { server: (s1 - s0) * 1000 / n, client: (c.user + c.system) / n }
  }
  const byId = async (): Promise<void> => {
    await counters.findOneAndUpdate({ _id: Math.floor(Math.random() * 1000) }, { $inc: { n: 1 } }, { returnDocument: 'after' })
  }
  const claim = async (): Promise<void> => {
    const showId = showIds[Math.floor(Math.random() * showIds.length)]
    const seat = await seats.findOneAndUpdate({ showId, status: 'AVAILABLE' }, { $set: { status: 'HELD', bookingId: new ObjectId(), heldUntil: new Date(Date.now() + 60_000) } })
    if (seat === null) await seats.updateMany({ showId, status: 'HELD' }, { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } })
  }
  await run(5000, byId) // warm-up
  const a = await run(OPS, byId)
  await run(3000, claim)
  const b = await run(OPS, claim)
  await stream?.close()
  await reading
  await client.close()
  const f = (v: number): string => v.toFixed(1).padStart(6)
  console.log(`${mode.padEnd(12)} CPU µs/op   server: by _id ${f(a.server)}  claim ${f(b.server)}   client: by _id ${f(a.client)}  claim ${f(b.client)}${stream === undefined ? '' : `   stream events ${events}`}`)
} finally {
  server.kill('SIGTERM')
}
