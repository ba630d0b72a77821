// bench:db's wire-level client (scripts/bench/wire-client.ts): it must send what the official
// driver sends in each mode, run every command exactly once, and read replies right, or the
// server throughput it measures is not the app's.
import t from 'tap'
import { BSON, MongoClient, ObjectId, Timestamp, type Document } from 'mongodb'
import { startEmbeddedMongo } from '../../src/embedded-mongo/index.js'
import { slot, WireConnection } from '../../scripts/bench/wire-client.js'
import { runInterleaved } from '../../scripts/bench/wire-load.js'

const byId = { findAndModify: 'counters', query: { _id: slot('int32') }, remove: false, new: true, upsert: false, update: { $inc: { n: 1 } } }
const claim = {
  findAndModify: 'seats', query: { showId: slot('objectId'), status: 'AVAILABLE' }, remove: false, new: false, upsert: false,
  update: { $set: { status: 'HELD', bookingId: slot('objectId'), heldUntil: slot('date') } }
}
const decode = (msg: Buffer): Document => BSON.deserialize(msg.subarray(21), { promoteLongs: false })

for (const standalone of [false, true]) {
  t.test(standalone ? 'standalone' : 'replica set', async (t) => {
    const server = await startEmbeddedMongo({ standalone })
    t.teardown(async () => { await server.stop() })
    const client = new MongoClient(server.uri, { monitorCommands: true })
    t.teardown(async () => { await client.close() })
    const driverSent: Document[] = []
    client.on('commandStarted', (e) => { if (e.commandName === 'findAndModify') driverSent.push(e.command) })
    await client.connect()
    const counters = client.db('bench').collection<{ _id: number, n: number }>('counters')
    await counters.insertOne({ _id: 7, n: 0 })
    await counters.findOneAndUpdate({ _id: 7 }, { $inc: { n: 1 } }, { returnDocument: 'after' })
    const conn = await WireConnection.open(server.uri, !standalone)
    t.teardown(() => { conn.close() })

    const first = decode(conn.encode('byId', 'bench', byId, [7], true))
    t.same(Object.keys(first), Object.keys(driverSent[0]), 'the driver\'s fields, in its order')
    t.same(first.query, { _id: 7 })
    t.same(first.update, driverSent[0].update)
    t.equal(first.txnNumber !== undefined, !standalone, 'a txnNumber only in a replica set')
    t.equal(first.$clusterTime !== undefined, !standalone, '$clusterTime only in a replica set')

    for (let i = 0; i < 10; i++) await conn.command('byId', 'bench', byId, [7], true)
    t.equal((await counters.findOne({ _id: 7 }))?.n, 11, 'each command ran once')
    if (!standalone) {
      const later = decode(conn.encode('byId', 'bench', byId, [7], true))
      t.ok((later.$clusterTime.clusterTime as Timestamp).greaterThan(first.$clusterTime.clusterTime as Timestamp), 'the newest cluster time is gossiped back')
      t.ok((later.txnNumber as { toNumber: () => number }).toNumber() > (first.txnNumber as { toNumber: () => number }).toNumber(), 'txnNumbers count up')
    }

    const seats = client.db('bench').collection('seats')
    const showId = new ObjectId()
    await seats.insertMany([1, 2, 3].map((i) => ({ showId, label: `A${i}`, status: 'AVAILABLE', bookingId: null, heldUntil: null })))
    const bookings = [1, 2, 3, 4].map(() => new ObjectId())
    const nulls: boolean[] = []
    for (const b of bookings) nulls.push((await conn.command('claim', 'bench', claim, [showId, b, new Date(2_000_000_000_000)], true)).valueIsNull)
    t.same(nulls, [false, false, false, true], 'three seats claimed, the fourth claim finds none')
    const held = await seats.find({ showId }).toArray()
    t.same(held.map((s) => s.bookingId.toHexString()).sort(), bookings.slice(0, 3).map((b) => b.toHexString()).sort(), 'the values sent are the values written')
    t.ok(held.every((s) => s.status === 'HELD' && (s.heldUntil as Date).getTime() === 2_000_000_000_000))

    await t.rejects(conn.command('bad', 'bench', { findAndModify: 'counters', query: { _id: 7 }, update: { $bad: { n: 1 } } }, [], true), /Unknown modifier/, 'a refused command rejects with the server\'s message')
  })
}

t.test('the side-by-side load takes turns on the servers and counts every operation it sends', async (t) => {
  const servers = [await startEmbeddedMongo({ standalone: true }), await startEmbeddedMongo()]
  t.teardown(async () => { for (const s of servers) await s.stop() })
  const clients = servers.map((s) => new MongoClient(s.uri))
  t.teardown(async () => { for (const c of clients) await c.close() })
  const counters = clients.map((c) => c.db('bench').collection<{ _id: number, n: number }>('counters'))
  for (const c of counters) await c.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i, n: 0 })))
  const total = async (c: typeof counters[number]): Promise<number> => (await c.find().toArray()).reduce((sum, d) => sum + d.n, 0)
  let before: number[] | undefined
  const targets = servers.map((s, i) => ({ uri: s.uri, replicaSet: i === 1, showIds: [] }))
  const results = await runInterleaved(targets, 'byId', 5, 60, 3, async () => { before = await Promise.all(counters.map(total)) })
  t.ok(before !== undefined && before.every((n) => n > 0), 'a warm-up round ran on both before the measured ones')
  const after = await Promise.all(counters.map(total))
  t.same(results.map((r) => r.n), after.map((n, i) => n - (before as number[])[i]), 'each server\'s count is what it executed after the warm-up')
  for (const r of results) t.ok(r.secs >= 3 * 0.059 && r.secs < 3, `three slices of about 60 ms each (Date.now()'s whole milliseconds) (${r.secs.toFixed(3)} s)`)
})
