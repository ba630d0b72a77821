// Throughput of the embedded server through the official driver (`npm run bench:db`).
// The server runs in a child process so client and server each get a core.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MongoClient, ObjectId } from 'mongodb'

const CALLERS = 50
const DURATION_MS = Number(process.env.BENCH_MS ?? 5000)
const WARMUP_MS = 1000
const SHOWS = 10
const SEATS_PER_SHOW = 500 // 5,000 seat documents in all

const serverScript = fileURLToPath(new URL('./embedded-mongo.ts', import.meta.url))
const child = spawn(process.execPath, ['--import', 'tsx', serverScript, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
const uri = await new Promise<string>((resolve, reject) => {
  let out = ''
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString()
    const m = /mongodb:\/\/\S+/.exec(out)
    if (m) resolve(m[0])
  })
  child.once('exit', (code) => reject(new Error(`server exited early (${code})`)))
})

const client = new MongoClient(uri, { maxPoolSize: CALLERS })
await client.connect()
const db = client.db('bench')

/** Runs `op` from CALLERS concurrent loops; returns completed ops per second. */
async function measure(op: () => Promise<void>): Promise<number> {
  const run = async (ms: number): Promise<number> => {
    const end = Date.now() + ms
    let n = 0
    await Promise.all(Array.from({ length: CALLERS }, async () => {
      while (Date.now() < end) {
        await op()
        n++
      }
    }))
    return n
  }
  await run(WARMUP_MS)
  const t0 = process.hrtime.bigint()
  const n = await run(DURATION_MS)
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  return n / secs
}

// (a) findOneAndUpdate by _id
const counters = db.collection<{ _id: number; n: number }>('counters')
await counters.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i, n: 0 })))
const byId = await measure(async () => {
  await counters.findOneAndUpdate({ _id: Math.floor(Math.random() * 1000) }, { $inc: { n: 1 } }, { returnDocument: 'after' })
})

// (b) seat claim on { showId, status } with resets so claims keep succeeding
const seats = db.collection('seats')
const showIds = Array.from({ length: SHOWS }, () => new ObjectId())
await seats.createIndex({ showId: 1, status: 1 })
await seats.createIndex({ showId: 1, label: 1 }, { unique: true })
await seats.insertMany(showIds.flatMap((showId) => Array.from({ length: SEATS_PER_SHOW }, (_, i) => ({
  showId, label: `S${i}`, status: 'AVAILABLE', bookingId: null, heldUntil: null,
}))))
let resets = 0
const claims = await measure(async () => {
  const showId = showIds[Math.floor(Math.random() * SHOWS)]
  const seat = await seats.findOneAndUpdate(
    { showId, status: 'AVAILABLE' },
    { $set: { status: 'HELD', bookingId: new ObjectId(), heldUntil: new Date(Date.now() + 60_000) } },
  )
  if (seat === null) {
    resets++
    await seats.updateMany({ showId, status: 'HELD' }, { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } })
  }
})

await client.close()
child.kill('SIGTERM')

const rows = [
  ['findOneAndUpdate by _id', byId, 10_000],
  ['claim { showId, status }', claims, 5_000],
] as const
console.log(`\n${CALLERS} concurrent callers, ${DURATION_MS} ms each (seat resets: ${resets})`)
console.log('operation                    ops/s     target')
for (const [name, v, target] of rows) {
  console.log(`${name.padEnd(28)} ${Math.round(v).toString().padStart(7)}   ${target} ${v >= target ? 'ok' : 'MISSED'}`)
}
console.log(JSON.stringify({ findOneAndUpdateById: Math.round(byId), claim: Math.round(claims), callers: CALLERS, durationMs: DURATION_MS }))
