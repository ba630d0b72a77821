// Change streams through the official driver's watch() (collection, database, cluster) and the
// raw aggregate/getMore commands: events, resume, pipelines, invalidate, history lost, waiting.
import t from 'tap'
import { MongoClient, Timestamp, type ChangeStream, type ChangeStreamDocument, type Document } from 'mongodb'
import { startEmbeddedMongo } from '../../src/embedded-mongo/index.js'
import { serverError, useEmbeddedMongo } from './support.js'

const mongo = useEmbeddedMongo('cs_test')

/** The next `n` events of a stream (the driver's own getMore loop). */
async function take<T extends Document> (cs: ChangeStream<T>, n: number): Promise<Array<ChangeStreamDocument<T>>> {
  const out: Array<ChangeStreamDocument<T>> = []
  while (out.length < n) out.push(await cs.next())
  return out
}

/** Opens a stream and waits until the server has its cursor (so later writes are seen). */
async function open<T extends Document> (cs: ChangeStream<T>): Promise<ChangeStream<T>> {
  await cs.tryNext()
  return cs
}

t.test('collection.watch(): insert, update, replace, delete with MongoDB\'s fields', async (t) => {
  const coll = mongo.db.collection<{ _id: number, a?: number, b?: { c: number }, arr?: number[], z?: number }>('events')
  const cs = await open(coll.watch())
  t.teardown(() => cs.close())
  await coll.insertOne({ _id: 1, a: 1, arr: [1, 2, 3] })
  await coll.updateOne({ _id: 1 }, { $set: { 'b.c': 2 }, $unset: { a: '' }, $pop: { arr: 1 } })
  await coll.updateOne({ _id: 1 }, { $push: { arr: 9 } })
  await coll.replaceOne({ _id: 1 }, { z: 1 })
  await coll.deleteOne({ _id: 1 })
  const [ins, upd, push, rep, del] = await take(cs, 5)
  t.equal(ins.operationType, 'insert')
  if (ins.operationType !== 'insert') return
  t.same(ins.fullDocument, { _id: 1, a: 1, arr: [1, 2, 3] })
  t.same(ins.ns, { db: 'cs_test', coll: 'events' })
  t.same(ins.documentKey, { _id: 1 })
  t.ok(ins.clusterTime instanceof Timestamp, 'clusterTime')
  t.ok(ins.wallTime instanceof Date, 'wallTime')
  t.type((ins._id as { _data: unknown })._data, 'string', 'the resume token')
  t.equal(upd.operationType, 'update')
  if (upd.operationType !== 'update') return
  t.notOk('fullDocument' in upd, 'no fullDocument by default on update')
  t.same(upd.updateDescription, { updatedFields: { b: { c: 2 } }, removedFields: ['a'], truncatedArrays: [{ field: 'arr', newSize: 2 }] })
  if (push.operationType !== 'update') throw new Error('expected an update')
  t.same(push.updateDescription.updatedFields, { 'arr.2': 9 }, 'a pushed element by its index')
  t.equal(rep.operationType, 'replace')
  if (rep.operationType === 'replace') t.same(rep.fullDocument, { _id: 1, z: 1 })
  t.equal(del.operationType, 'delete')
  if (del.operationType === 'delete') t.same(del.documentKey, { _id: 1 })
  t.notOk('fullDocument' in del)
  const times = [ins, upd, push, rep, del].map((e) => e.clusterTime as Timestamp)
  for (let i = 1; i < times.length; i++) t.ok(times[i].greaterThan(times[i - 1]), 'cluster times increase')
})

t.test('updateMany and deleteMany give one event per document, in commit order', async (t) => {
  const coll = mongo.db.collection<{ _id: number, s: string }>('many')
  await coll.insertMany([1, 2, 3, 4].map((i) => ({ _id: i, s: 'A' })))
  const cs = await open(coll.watch())
  t.teardown(() => cs.close())
  await coll.updateMany({}, { $set: { s: 'H' } })
  await coll.deleteMany({ _id: { $in: [2, 3] } })
  const evs = await take(cs, 6)
  t.same(evs.map((e) => e.operationType), ['update', 'update', 'update', 'update', 'delete', 'delete'])
  t.same(evs.map((e) => (e as { documentKey: { _id: number } }).documentKey._id), [1, 2, 3, 4, 2, 3])
})

t.test('fullDocument: updateLookup gives the current document', async (t) => {
  const coll = mongo.db.collection<{ _id: number, status: string }>('lookup')
  await coll.insertOne({ _id: 1, status: 'AVAILABLE' })
  const cs = await open(coll.watch([], { fullDocument: 'updateLookup' }))
  t.teardown(() => cs.close())
  await coll.updateOne({ _id: 1 }, { $set: { status: 'HELD' } })
  const [ev] = await take(cs, 1)
  if (ev.operationType !== 'update') throw new Error('expected an update')
  t.same(ev.fullDocument, { _id: 1, status: 'HELD' })
  const refused = await serverError(mongo.db.command({ aggregate: 'lookup', pipeline: [{ $changeStream: { fullDocument: 'required' } }], cursor: {} }))
  t.equal(refused.code, 72, 'post-images are not kept: required is refused')
})

t.test('a pipeline: $match, $project, $addFields', async (t) => {
  const coll = mongo.db.collection<{ _id: number, status: string, n: number }>('piped')
  const cs = await open(coll.watch([
    { $match: { operationType: 'update', 'updateDescription.updatedFields.status': { $exists: true } } },
    { $project: { documentKey: 1, 'updateDescription.updatedFields.status': 1 } },
    { $addFields: { seen: true } }
  ]))
  t.teardown(() => cs.close())
  await coll.insertOne({ _id: 1, status: 'AVAILABLE', n: 0 })
  await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } })
  await coll.updateOne({ _id: 1 }, { $set: { status: 'BOOKED' } })
  const [ev] = await take(cs, 1) as unknown as Document[]
  t.same(Object.keys(ev).sort(), ['_id', 'documentKey', 'seen', 'updateDescription'])
  t.same(ev.updateDescription, { updatedFields: { status: 'BOOKED' } })
  const bad = await serverError(mongo.db.command({ aggregate: 'piped', pipeline: [{ $changeStream: {} }, { $group: { _id: null } }], cursor: {} }))
  t.equal(bad.code, 20, '$group is not permitted')
  const noId = await open(coll.watch([{ $project: { _id: 0 } }]))
  await coll.insertOne({ _id: 2, status: 'X', n: 0 })
  const lost = await noId.next().then(() => undefined, (e: unknown) => e as { code?: number })
  t.equal(lost?.code, 280, 'a pipeline that removes the resume token is refused')
  await noId.close()
})

t.test('resume: after a token, startAfter, startAtOperationTime', async (t) => {
  const coll = mongo.db.collection<{ _id: number }>('resume')
  const cs = await open(coll.watch())
  await coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }])
  const [first] = await take(cs, 1)
  await cs.close()
  const resumed = coll.watch([], { resumeAfter: first._id })
  const rest = await take(resumed, 2)
  await resumed.close()
  t.same(rest.map((e) => (e as { documentKey: { _id: number } }).documentKey._id), [2, 3], 'resumeAfter: the events after the token')
  const after = coll.watch([], { startAfter: first._id })
  t.same((await take(after, 1)).map((e) => (e as { documentKey: { _id: number } }).documentKey._id), [2])
  await after.close()
  const at = coll.watch([], { startAtOperationTime: first.clusterTime })
  t.same((await take(at, 3)).map((e) => (e as { documentKey: { _id: number } }).documentKey._id), [1, 2, 3], 'startAtOperationTime: from that time on')
  await at.close()
  const bad = await serverError(mongo.db.command({ aggregate: 'resume', pipeline: [{ $changeStream: { resumeAfter: { _data: 'nonsense' } } }], cursor: {} }))
  t.equal(bad.code, 260)
})

t.test('a dropped or renamed collection ends its stream with invalidate; startAfter resumes past it', async (t) => {
  const coll = mongo.db.collection<{ _id: number }>('doomed')
  await coll.insertOne({ _id: 0 })
  const cs = await open(coll.watch())
  await coll.insertOne({ _id: 1 })
  await coll.drop()
  const [ins, drop, inv] = await take(cs, 3)
  t.equal(ins.operationType, 'insert')
  t.equal(drop.operationType, 'drop')
  t.same((drop as { ns: unknown }).ns, { db: 'cs_test', coll: 'doomed' })
  t.equal(inv.operationType, 'invalidate')
  t.ok(cs.closed || (await cs.tryNext().then(() => cs.closed, () => true)), 'the stream is over')
  await cs.close()
  const resumeRefused = await serverError(mongo.db.command({ aggregate: 'doomed', pipeline: [{ $changeStream: { resumeAfter: inv._id } }], cursor: {} }))
  t.equal(resumeRefused.code, 260, 'resumeAfter an invalidate is refused')
  const again = coll.watch([], { startAfter: inv._id })
  await coll.insertOne({ _id: 2 })
  const [next] = await take(again, 1)
  t.same((next as { documentKey: unknown }).documentKey, { _id: 2 }, 'startAfter an invalidate sees the new collection')
  await again.close()

  const src = mongo.db.collection<{ _id: number }>('before_rename')
  await src.insertOne({ _id: 1 })
  const rs = await open(src.watch())
  await src.rename('after_rename')
  const [ren, inv2] = await take(rs, 2)
  t.equal(ren.operationType, 'rename')
  t.same((ren as { to: unknown }).to, { db: 'cs_test', coll: 'after_rename' })
  t.equal(inv2.operationType, 'invalidate')
  await rs.close()
})

t.test('db.watch() and client.watch(): every collection; dropDatabase', async (t) => {
  const client = new MongoClient(mongo.server.uri)
  await client.connect()
  t.teardown(() => client.close())
  const other = client.db('cs_other')
  const dbStream = await open(other.watch())
  const clusterStream = await open(client.watch())
  await other.collection<{ _id: number }>('x').insertOne({ _id: 1 })
  await other.collection<{ _id: number }>('y').insertOne({ _id: 2 })
  await client.db('cs_third').collection<{ _id: number }>('z').insertOne({ _id: 3 })
  const d = await take(dbStream, 2)
  t.same(d.map((e) => (e as { ns: { coll: string } }).ns.coll), ['x', 'y'])
  const c = await take(clusterStream, 3)
  t.same(c.map((e) => (e as { ns: { db: string, coll: string } }).ns), [
    { db: 'cs_other', coll: 'x' }, { db: 'cs_other', coll: 'y' }, { db: 'cs_third', coll: 'z' }
  ])
  await other.dropDatabase()
  const ends = await take(dbStream, 4)
  t.same(ends.map((e) => e.operationType), ['drop', 'drop', 'dropDatabase', 'invalidate'])
  t.same((ends[2] as { ns: unknown }).ns, { db: 'cs_other' })
  await dbStream.close()
  const seen = await take(clusterStream, 3)
  t.same(seen.map((e) => e.operationType), ['drop', 'drop', 'dropDatabase'], 'a cluster stream is not invalidated')
  await clusterStream.close()
  await client.db('cs_third').dropDatabase()
})

t.test('raw getMore: waits up to maxTimeMS, wakes on a write, postBatchResumeToken on every batch', async (t) => {
  const coll = mongo.db.collection<{ _id: string }>('raw')
  const opened = await mongo.db.command({ aggregate: 'raw', pipeline: [{ $changeStream: {} }], cursor: {} })
  t.same(opened.cursor.firstBatch, [])
  t.ok(opened.cursor.postBatchResumeToken?._data !== undefined, 'the first (empty) batch has a postBatchResumeToken')
  const id = opened.cursor.id
  const empty = await mongo.db.command({ getMore: id, collection: 'raw', maxTimeMS: 50 })
  t.same(empty.cursor.nextBatch, [], 'nothing happened: an empty batch after maxTimeMS')
  t.ok(empty.cursor.postBatchResumeToken?._data !== undefined, 'an empty getMore batch has a postBatchResumeToken')
  t.not(String(empty.cursor.id), '0', 'the cursor stays open')

  // A long wait that a write ends: meanwhile the server keeps answering others.
  const order: string[] = []
  const waiting = mongo.db.command({ getMore: id, collection: 'raw', maxTimeMS: 60_000 }).then((r) => { order.push('getMore'); return r })
  await mongo.db.command({ ping: 1 })
  await coll.countDocuments()
  order.push('others answered')
  await coll.insertOne({ _id: 'woken' })
  const woken = await waiting
  t.same(order, ['others answered', 'getMore'], 'a waiting getMore blocks nobody')
  t.equal(woken.cursor.nextBatch.length, 1, 'the write wakes the waiting getMore')
  t.same(woken.cursor.nextBatch[0].documentKey, { _id: 'woken' })
  t.same(woken.cursor.postBatchResumeToken, woken.cursor.nextBatch[0]._id, 'postBatchResumeToken = the last event\'s token')
  // A write to another collection does not end the wait with an empty answer.
  const quiet = mongo.db.command({ getMore: id, collection: 'raw', maxTimeMS: 60_000 })
  await mongo.db.collection('elsewhere').insertOne({ a: 1 })
  await coll.insertOne({ _id: 'second' })
  const q = await quiet
  t.same(q.cursor.nextBatch.map((e: Document) => e.documentKey._id), ['second'])
  await mongo.db.command({ killCursors: 'raw', cursors: [id] })
  const gone = await serverError(mongo.db.command({ getMore: id, collection: 'raw' }))
  t.equal(gone.code, 43)
})

t.test('many concurrent streams each see every event', async (t) => {
  const coll = mongo.db.collection<{ _id: number }>('fanout')
  const streams = await Promise.all(Array.from({ length: 30 }, () => open(coll.watch([], { fullDocument: 'updateLookup' }))))
  await Promise.all(Array.from({ length: 20 }, (_, i) => coll.insertOne({ _id: i })))
  const all = await Promise.all(streams.map((s) => take(s, 20)))
  await Promise.all(streams.map((s) => s.close()))
  const expected = all[0].map((e) => (e as { documentKey: { _id: number } }).documentKey._id)
  t.same([...expected].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i), 'every insert once')
  for (const evs of all) t.same(evs.map((e) => (e as { documentKey: { _id: number } }).documentKey._id), expected, 'the same events in the same order')
})

t.test('history lost: resuming from before the bounded history is error 286', async (t) => {
  const s = await startEmbeddedMongo({ historySize: 5 })
  const client = new MongoClient(s.uri)
  t.teardown(async () => { await client.close(); await s.stop() })
  const coll = client.db('h').collection<{ _id: number }>('c')
  const cs = await open(coll.watch())
  await coll.insertOne({ _id: 0 })
  const [first] = await take(cs, 1)
  await cs.close()
  await coll.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i + 1 })))
  const lost = await serverError(client.db('h').command({ aggregate: 'c', pipeline: [{ $changeStream: { resumeAfter: first._id } }], cursor: {} }))
  t.equal(lost.code, 286)
  t.equal(lost.codeName, 'ChangeStreamHistoryLost')
  const at = await serverError(client.db('h').command({ aggregate: 'c', pipeline: [{ $changeStream: { startAtOperationTime: first.clusterTime } }], cursor: {} }))
  t.equal(at.code, 286)
  // Within the history, resuming works.
  const recent = await client.db('h').command({ aggregate: 'c', pipeline: [{ $changeStream: { startAtOperationTime: new Timestamp({ t: 0, i: 0 }) } }], cursor: {} }).then(() => 'ok', (e: { code?: number }) => e.code)
  t.equal(recent, 286, 'the beginning of time is long gone too')
})
