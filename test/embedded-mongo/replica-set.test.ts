// The default mode: a one-member replica set `rs0`, as `mongod --replSet rs0` after rs.initiate().
// Topology, cluster time, retryable writes, write and read concerns; and what --standalone refuses.
import t from 'tap'
import { Long, Timestamp, UUID, type Document } from 'mongodb'
import { MongoClient, type CommandSucceededEvent } from 'mongodb'
import { startEmbeddedMongo } from '../../src/embedded-mongo/index.js'
import { serverError, useEmbeddedMongo } from './support.js'

const mongo = useEmbeddedMongo('rs_test')

const ts = (v: unknown): bigint => {
  if (!(v instanceof Timestamp)) throw new Error('not a Timestamp')
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)
}

t.test('the driver discovers a primary of rs0 from a plain URI', async (t) => {
  t.equal(mongo.server.replSet, 'rs0')
  t.notMatch(mongo.server.uri, /directConnection|replicaSet/)
  const client = new MongoClient(mongo.server.uri)
  let topology = ''
  client.on('topologyDescriptionChanged', (e) => { topology = e.newDescription.type })
  await client.connect()
  await client.db('admin').command({ ping: 1 })
  await client.close()
  t.equal(topology, 'ReplicaSetWithPrimary')
  const me = mongo.server.uri.replace(/^mongodb:\/\//, '').replace(/\/$/, '')
  const hello = await mongo.client.db('admin').command({ hello: 1 })
  t.equal(hello.setName, 'rs0')
  t.equal(hello.setVersion, 1)
  t.equal(hello.isWritablePrimary, true)
  t.equal(hello.secondary, false)
  t.same(hello.hosts, [me])
  t.equal(hello.primary, me)
  t.equal(hello.me, me)
  t.ok(hello.electionId !== undefined, 'electionId')
  t.ok(hello.topologyVersion?.processId !== undefined, 'topologyVersion')
  t.ok(hello.lastWrite?.opTime?.ts instanceof Timestamp, 'lastWrite.opTime')
  t.ok(hello.lastWrite?.lastWriteDate instanceof Date)
  const status = await mongo.client.db('admin').command({ replSetGetStatus: 1 })
  t.equal(status.set, 'rs0')
  t.equal(status.myState, 1)
  t.equal(status.members.length, 1)
  t.equal(status.members[0].stateStr, 'PRIMARY')
  t.equal(status.members[0].name, me)
  t.equal(status.members[0].self, true)
})

t.test('replies carry $clusterTime and operationTime; the clock advances with every write', async (t) => {
  const coll = mongo.db.collection('clock')
  const r1 = await mongo.db.command({ insert: 'clock', documents: [{ a: 1 }] })
  t.ok(r1.$clusterTime?.clusterTime instanceof Timestamp, '$clusterTime')
  t.ok(r1.$clusterTime?.signature !== undefined, 'signature')
  t.ok(r1.operationTime instanceof Timestamp, 'operationTime')
  const r2 = await mongo.db.command({ insert: 'clock', documents: [{ a: 2 }, { a: 3 }] })
  t.ok(ts(r2.operationTime) > ts(r1.operationTime), 'a later write has a later operationTime')
  // A timestamp is (seconds, increment), and the increment starts again at 1 in each new second,
  // so two documents are two ticks unless the second turned between the writes.
  const [s1, i1] = [r1.operationTime.high >>> 0, r1.operationTime.low >>> 0]
  const [s2, i2] = [r2.operationTime.high >>> 0, r2.operationTime.low >>> 0]
  if (s2 === s1) t.equal(i2 - i1, 2, 'one tick per document written')
  else t.ok(i2 === 1 || i2 === 2, `a new second (${s1} → ${s2}): its increments count from 1 (${i2})`)
  const read = await mongo.db.command({ find: 'clock', filter: {} })
  t.equal(ts(read.operationTime), ts(r2.operationTime), 'a read does not advance the clock')
  // The driver gossips the cluster time back on later commands.
  const sent: Document[] = []
  const client = new MongoClient(mongo.server.uri, { monitorCommands: true })
  client.on('commandStarted', (e) => { if (e.commandName === 'find') sent.push(e.command) })
  await client.db('rs_test').collection('clock').findOne({})
  await client.db('rs_test').collection('clock').findOne({})
  await client.close()
  t.ok(sent.some((c) => c.$clusterTime !== undefined), 'the driver sends $clusterTime')
  t.equal(await coll.countDocuments(), 3)
})

t.test('retryable writes: a repeated (lsid, txnNumber) returns the first reply and is not applied twice', async (t) => {
  // The driver puts the session's lsid on each command; the txnNumbers are ours.
  const session = mongo.client.startSession()
  const other = mongo.client.startSession()
  t.teardown(async () => { await session.endSession(); await other.endSession() })
  const run = (cmd: Document, s = session): Promise<Document> => mongo.db.command(cmd, { session: s })
  const coll = mongo.db.collection<{ _id: number, n?: number }>('retry')
  const first = await run({ insert: 'retry', documents: [{ _id: 1, n: 0 }], txnNumber: Long.fromNumber(1) })
  const again = await run({ insert: 'retry', documents: [{ _id: 1, n: 0 }], txnNumber: Long.fromNumber(1) })
  t.equal(first.n, 1)
  t.equal(again.n, 1, 'the retry answers as the first attempt did (no duplicate-key error)')
  t.ok(again.$clusterTime?.clusterTime instanceof Timestamp && again.operationTime instanceof Timestamp, 'the replayed reply carries the cluster time too')
  t.ok(ts(again.operationTime) >= ts(first.operationTime))
  t.notOk('writeErrors' in again)
  const inc = { findAndModify: 'retry', query: { _id: 1 }, update: { $inc: { n: 1 } }, new: true, txnNumber: Long.fromNumber(2) }
  const f1 = await run(inc)
  const f2 = await run(inc)
  t.equal(f1.value.n, 1)
  t.equal(f2.value.n, 1, 'the retried findAndModify gives the first answer')
  const upd = { update: 'retry', updates: [{ q: { _id: 1 }, u: { $inc: { n: 10 } } }], txnNumber: Long.fromNumber(3) }
  await run(upd)
  await run(upd)
  t.same(await coll.findOne({ _id: 1 }), { _id: 1, n: 11 }, 'each write applied once')
  const del = { delete: 'retry', deletes: [{ q: { _id: 1 }, limit: 1 }], txnNumber: Long.fromNumber(4) }
  t.equal((await run(del)).n, 1)
  t.equal((await run(del)).n, 1, 'the retried delete reports what the first one did')
  const old = await serverError(run({ insert: 'retry', documents: [{ _id: 2 }], txnNumber: Long.fromNumber(3) }))
  t.equal(old.code, 225, 'an older txnNumber is TransactionTooOld')
  t.equal(old.codeName, 'TransactionTooOld')
  t.equal(await coll.countDocuments({ _id: 2 }), 0, 'and changes nothing')
  const notWrite = await serverError(run({ find: 'retry', txnNumber: Long.fromNumber(9) }))
  t.equal(notWrite.code, 50768, 'txnNumber on a read is refused')
  // Another session's numbering is its own.
  const fresh = await run({ insert: 'retry', documents: [{ _id: 3 }], txnNumber: Long.fromNumber(1) }, other)
  t.equal(fresh.n, 1)
  t.equal(await coll.countDocuments({ _id: 3 }), 1)
})

t.test('only the top-level $clusterTime is the gossip: a field of that name inside a value is data', async (t) => {
  // The server cuts the driver's $clusterTime out of each command before decoding it. (A client
  // of its own: the pooled sessions of mongo.client carry the test above's hand-set txnNumbers.)
  const client = new MongoClient(mongo.server.uri)
  t.teardown(() => client.close())
  const coll = client.db('rs_test').collection<{ _id: number, meta?: Document }>('ct_field')
  await coll.insertOne({ _id: 1 })
  const meta = { $clusterTime: { clusterTime: new Timestamp({ t: 1, i: 1 }), note: 'x' }, b: 2 }
  const after = await coll.findOneAndUpdate({ _id: 1 }, { $set: { meta } }, { returnDocument: 'after' })
  t.same(after?.meta, meta)
  t.same((await coll.findOne({ 'meta.b': 2 }))?.meta, meta)
  const r = await client.db('rs_test').command({ find: 'ct_field', filter: { 'meta.$clusterTime.note': 'x' } })
  t.equal(r.cursor.firstBatch.length, 1)
  t.ok(r.operationTime instanceof Timestamp)
})

t.test('the driver sends lsid + txnNumber on writes, and they work', async (t) => {
  const seen: Document[] = []
  const client = new MongoClient(mongo.server.uri, { monitorCommands: true })
  client.on('commandStarted', (e) => { if (['insert', 'update', 'findAndModify', 'delete'].includes(e.commandName)) seen.push(e.command) })
  const ok: CommandSucceededEvent[] = []
  client.on('commandSucceeded', (e) => ok.push(e))
  const coll = client.db('rs_test').collection<{ _id: number, n: number }>('driver_retry')
  await coll.insertOne({ _id: 1, n: 0 })
  await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } })
  await coll.findOneAndUpdate({ _id: 1 }, { $inc: { n: 1 } })
  await coll.deleteOne({ _id: 1 })
  await client.close()
  t.equal(seen.length, 4)
  for (const c of seen) {
    t.ok(c.lsid !== undefined && c.txnNumber !== undefined, `${Object.keys(c)[0]} is a retryable write`)
  }
})

t.test('multi-document transactions are refused, loudly', async (t) => {
  const session = mongo.client.startSession()
  const err = await serverError(session.withTransaction(async () => {
    await mongo.db.collection('tx').insertOne({ a: 1 }, { session })
  }))
  await session.endSession()
  t.equal(err.code, 263)
  t.match(err.message, /Multi-document transactions are not supported by the embedded server/)
  t.equal(await mongo.db.collection('tx').countDocuments(), 0)
  const commit = await serverError(mongo.client.db('admin').command({ commitTransaction: 1 }))
  t.equal(commit.code, 263)
})

t.test('write concerns: majority, j, wtimeout are met by the one member; more members cannot be', async (t) => {
  const coll = mongo.db.collection('wc')
  const r = await coll.insertOne({ a: 1 }, { writeConcern: { w: 'majority', j: true, wtimeoutMS: 1000 } })
  t.ok(r.acknowledged)
  const raw = await mongo.db.command({ insert: 'wc', documents: [{ a: 2 }], writeConcern: { w: 1, j: false } })
  t.equal(raw.n, 1)
  t.notOk('writeConcernError' in raw)
  const two = await serverError(mongo.db.command({ insert: 'wc', documents: [{ a: 3 }], writeConcern: { w: 2, wtimeout: 100 } }))
  t.equal(two.code, 100, 'w: 2 on one member: UnsatisfiableWriteConcern')
  const tag = await serverError(mongo.db.command({ insert: 'wc', documents: [{ a: 4 }], writeConcern: { w: 'dc-east' } }))
  t.equal(tag.code, 79, 'an unknown mode: UnknownReplWriteConcern')
})

t.test('read concerns: local, majority and afterClusterTime are accepted; snapshot is refused', async (t) => {
  const coll = mongo.db.collection('rc')
  const w = await mongo.db.command({ insert: 'rc', documents: [{ a: 1 }] })
  t.equal((await coll.find({}, { readConcern: { level: 'majority' } }).toArray()).length, 1)
  t.equal((await coll.find({}, { readConcern: { level: 'local' } }).toArray()).length, 1)
  const after = await mongo.db.command({ find: 'rc', filter: {}, readConcern: { level: 'majority', afterClusterTime: w.operationTime } })
  t.equal(after.cursor.firstBatch.length, 1)
  const causal = mongo.client.startSession({ causalConsistency: true })
  await coll.insertOne({ a: 2 }, { session: causal })
  t.equal(await coll.countDocuments({}, { session: causal }), 2, 'a causally consistent session reads its write')
  await causal.endSession()
  const snap = await serverError(mongo.db.command({ find: 'rc', filter: {}, readConcern: { level: 'snapshot' } }))
  t.equal(snap.code, 72)
  const future = new Timestamp({ t: 0xfffffff0, i: 1 })
  const ahead = await serverError(mongo.db.command({ find: 'rc', filter: {}, readConcern: { afterClusterTime: future } }))
  t.equal(ahead.code, 72, 'a cluster time not yet reached is refused')
})

t.test('--standalone: no set, no change streams (40573), no retryable writes', async (t) => {
  const s = await startEmbeddedMongo({ standalone: true })
  const client = new MongoClient(s.uri)
  let topology = ''
  client.on('topologyDescriptionChanged', (e) => { topology = e.newDescription.type })
  t.teardown(async () => { await client.close(); await s.stop() })
  await client.connect()
  t.equal(s.replSet, undefined)
  t.equal(topology, 'Single')
  const hello = await client.db('admin').command({ hello: 1 })
  t.notOk('setName' in hello)
  t.notOk('$clusterTime' in hello)
  const cs = await serverError(client.db('x').command({ aggregate: 'c', pipeline: [{ $changeStream: {} }], cursor: {} }))
  t.equal(cs.code, 40573)
  const status = await serverError(client.db('admin').command({ replSetGetStatus: 1 }))
  t.equal(status.code, 76)
  const txn = await serverError(client.db('x').command({ insert: 'c', documents: [{}], lsid: { id: new UUID() }, txnNumber: Long.fromNumber(1) }))
  t.equal(txn.code, 20)
})
