// insert / find / update / delete / findAndModify / count / distinct through the real driver.
import t from 'tap'
import { MongoClient, MongoServerError, type Db } from 'mongodb'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/embedded-mongo/index.js'

let server: EmbeddedMongo
let client: MongoClient
let db: Db

t.before(async () => {
  server = await startEmbeddedMongo()
  client = new MongoClient(server.uri)
  await client.connect()
  db = client.db('crud_test')
})

t.teardown(async () => {
  await client.db('crud_test').dropDatabase()
  await client.close()
  await server.stop()
})

async function serverError(p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p
  } catch (e) {
    if (e instanceof MongoServerError) return e
    throw e
  }
  throw new Error('expected a server error')
}

t.test('insert and find with query operators', async (t) => {
  const c = db.collection('people')
  const r = await c.insertMany([
    { _id: 1 as never, name: 'ann', age: 30, tags: ['a', 'b'], addr: { city: 'Oslo' } },
    { _id: 2 as never, name: 'bob', age: 25, tags: ['b'], addr: { city: 'Rome' } },
    { _id: 3 as never, name: 'cid', age: 35, tags: [], kids: [{ n: 'x', age: 3 }, { n: 'y', age: 9 }] },
    { _id: 4 as never, name: 'dan', age: null },
  ])
  t.equal(r.insertedCount, 4)
  const names = async (q: object): Promise<string[]> => (await c.find(q).sort({ _id: 1 }).toArray()).map((d) => d.name as string)
  t.same(await names({ age: { $gt: 26 } }), ['ann', 'cid'])
  t.same(await names({ age: { $gte: 25, $lt: 35 } }), ['ann', 'bob'])
  t.same(await names({ age: { $lte: 25 } }), ['bob'])
  t.same(await names({ age: { $ne: 30 } }), ['bob', 'cid', 'dan'])
  t.same(await names({ age: { $in: [25, 35] } }), ['bob', 'cid'])
  t.same(await names({ age: { $nin: [25, 35] } }), ['ann', 'dan'])
  t.same(await names({ age: null }), ['dan'], 'null matches null')
  t.same(await names({ kids: null }), ['ann', 'bob', 'dan'], 'null matches missing')
  t.same(await names({ kids: { $exists: true } }), ['cid'])
  t.same(await names({ tags: 'b' }), ['ann', 'bob'], 'equality matches array elements')
  t.same(await names({ tags: ['b'] }), ['bob'], 'whole-array equality')
  t.same(await names({ tags: { $size: 0 } }), ['cid'])
  t.same(await names({ tags: { $all: ['a', 'b'] } }), ['ann'])
  t.same(await names({ 'addr.city': 'Rome' }), ['bob'])
  t.same(await names({ 'kids.age': { $gt: 5 } }), ['cid'], 'dotted path through array of documents')
  t.same(await names({ kids: { $elemMatch: { n: 'x', age: { $lt: 5 } } } }), ['cid'])
  t.same(await names({ kids: { $elemMatch: { n: 'x', age: { $gt: 5 } } } }), [])
  t.same(await names({ $or: [{ name: 'ann' }, { age: 25 }] }), ['ann', 'bob'])
  t.same(await names({ $and: [{ age: { $gt: 20 } }, { age: { $lt: 31 } }] }), ['ann', 'bob'])
  t.same(await names({ $nor: [{ name: 'ann' }, { age: null }] }), ['bob', 'cid'])
  t.same(await names({ name: { $regex: '^[ab]' } }), ['ann', 'bob'])
  t.same(await names({ name: /^C/i }), ['cid'])
  t.same(await names({ name: { $not: /^a/ } }), ['bob', 'cid', 'dan'])
  t.same(await names({ age: { $type: 'null' } }), ['dan'])
  t.same(await names({ age: { $type: 'number' } }), ['ann', 'bob', 'cid'])
  t.same(await names({ age: { $mod: [10, 5] } }), ['bob', 'cid'])
  t.same(await names({ $expr: { $gt: ['$age', 29] } }), ['ann', 'cid'])
  t.same(await names({ age: { $gt: '1' } }), [], 'type bracketing: numbers never compare with strings')
})

t.test('find: sort, projection, skip, limit', async (t) => {
  const c = db.collection('people')
  const docs = await c.find({}, { projection: { name: 1, _id: 0 } }).sort({ age: -1 }).skip(1).limit(2).toArray()
  t.same(docs, [{ name: 'ann' }, { name: 'bob' }])
  const ex = await c.findOne({ _id: 1 as never }, { projection: { tags: 0, addr: 0 } })
  t.same(ex, { _id: 1, name: 'ann', age: 30 })
  const nested = await c.findOne({ _id: 1 as never }, { projection: { 'addr.city': 1 } })
  t.same(nested, { _id: 1, addr: { city: 'Oslo' } })
  const sliced = await c.findOne({ _id: 1 as never }, { projection: { tags: { $slice: 1 }, name: 1 } })
  t.same(sliced, { _id: 1, name: 'ann', tags: ['a'] })
  const em = await c.findOne({ _id: 3 as never }, { projection: { kids: { $elemMatch: { n: 'y' } } } })
  t.same(em, { _id: 3, kids: [{ n: 'y', age: 9 }] })
  const err = await serverError(c.find({}, { projection: { name: 1, age: 0 } }).toArray())
  t.match(err.message, /exclusion/)
})

t.test('cursors: batchSize across several getMore calls, killCursors', async (t) => {
  const c = db.collection('many')
  await c.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })))
  const cursor = c.find({}).sort({ i: 1 }).batchSize(40)
  const seen: number[] = []
  for await (const d of cursor) seen.push(d.i as number)
  t.equal(seen.length, 250)
  t.same(seen.slice(0, 3), [0, 1, 2])
  t.equal(seen[249], 249)

  // Raw commands: firstBatch, then getMore batches, then killCursors.
  const first = await db.command({ find: 'many', filter: {}, sort: { i: 1 }, batchSize: 100 }, { promoteLongs: false })
  t.equal(first.cursor.firstBatch.length, 100)
  const id = first.cursor.id
  t.not(id.toString(), '0')
  t.equal(id._bsontype, 'Long', 'cursor ids are Longs')
  const more = await db.command({ getMore: id, collection: 'many', batchSize: 100 })
  t.equal(more.cursor.nextBatch.length, 100)
  t.equal(more.cursor.nextBatch[0].i, 100)
  const killed = await db.command({ killCursors: 'many', cursors: [id] })
  t.equal(killed.cursorsKilled.length, 1)
  const gone = await serverError(db.command({ getMore: id, collection: 'many' }))
  t.equal(gone.code, 43)
  t.equal(gone.codeName, 'CursorNotFound')

  const early = c.find({}).batchSize(10)
  await early.next()
  await early.close() // the driver sends killCursors for an open cursor
  const single = await db.command({ find: 'many', filter: {}, batchSize: 5, singleBatch: true })
  t.equal(single.cursor.id.toString(), '0')
  const neg = await db.command({ find: 'many', filter: {}, limit: -3 })
  t.equal(neg.cursor.firstBatch.length, 3)
  t.equal(neg.cursor.id.toString(), '0')
})

t.test('update: operators, multi, upsert, positional, arrayFilters, replacement', async (t) => {
  const c = db.collection('upd')
  await c.insertOne({ _id: 1 as never, a: 1, b: 'x', arr: [1, 2, 3], grades: [80, 90, 95], items: [{ k: 'p', q: 1 }, { k: 'r', q: 5 }], o: { x: 1 } })
  await c.updateOne({ _id: 1 as never }, {
    $set: { 'o.y': 2, b: 'y' }, $inc: { a: 4 }, $unset: { 'o.x': '' }, $push: { arr: 4 }, $currentDate: { at: true },
  } as never)
  let d = await c.findOne({ _id: 1 as never })
  t.equal(d?.a, 5)
  t.equal(d?.b, 'y')
  t.same(d?.o, { y: 2 })
  t.same(d?.arr, [1, 2, 3, 4])
  t.ok(d?.at instanceof Date)
  await c.updateOne({ _id: 1 as never }, { $min: { a: 2 }, $max: { z: 7 }, $rename: { b: 'bb' } } as never)
  await c.updateOne({ _id: 1 as never }, { $mul: { a: 3 } })
  d = await c.findOne({ _id: 1 as never })
  t.equal(d?.a, 6)
  t.equal(d?.z, 7)
  t.equal(d?.bb, 'y')
  t.notOk('b' in (d ?? {}))
  await c.updateOne({ _id: 1 as never }, { $push: { arr: { $each: [0, 9], $position: 0, $sort: -1, $slice: 4 } } } as never)
  d = await c.findOne({ _id: 1 as never })
  t.same(d?.arr, [9, 4, 3, 2])
  await c.updateOne({ _id: 1 as never }, { $pull: { arr: { $gte: 4 } }, $addToSet: { tags: { $each: ['a', 'a', 'b'] } } } as never)
  d = await c.findOne({ _id: 1 as never })
  t.same(d?.arr, [3, 2])
  t.same(d?.tags, ['a', 'b'])
  await c.updateOne({ _id: 1 as never }, { $pullAll: { arr: [3] }, $pop: { tags: -1 } } as never)
  d = await c.findOne({ _id: 1 as never })
  t.same(d?.arr, [2])
  t.same(d?.tags, ['b'])
  // Positional $: https://www.mongodb.com/docs/manual/reference/operator/update/positional/
  await c.updateOne({ _id: 1 as never, grades: 90 }, { $set: { 'grades.$': 91 } })
  await c.updateOne({ _id: 1 as never, 'items.k': 'r' }, { $inc: { 'items.$.q': 1 } })
  d = await c.findOne({ _id: 1 as never })
  t.same(d?.grades, [80, 91, 95])
  t.same(d?.items, [{ k: 'p', q: 1 }, { k: 'r', q: 6 }])
  // $[] and $[id] with arrayFilters: https://www.mongodb.com/docs/manual/reference/operator/update/positional-filtered/
  await c.updateOne({ _id: 1 as never }, { $inc: { 'grades.$[]': 1 } })
  await c.updateOne({ _id: 1 as never }, { $set: { 'grades.$[g]': 100 } }, { arrayFilters: [{ g: { $gte: 92 } }] })
  await c.updateOne({ _id: 1 as never }, { $set: { 'items.$[it].q': 0 } }, { arrayFilters: [{ 'it.k': 'p' }] })
  d = await c.findOne({ _id: 1 as never })
  t.same(d?.grades, [81, 100, 100])
  t.same(d?.items, [{ k: 'p', q: 0 }, { k: 'r', q: 6 }])
  const noMatch = await serverError(c.updateOne({ _id: 1 as never }, { $set: { 'grades.$': 1 } }))
  t.equal(noMatch.code, 2)

  await c.insertMany([{ g: 1, v: 0 }, { g: 1, v: 0 }, { g: 2, v: 0 }])
  const many = await c.updateMany({ g: 1 }, { $set: { v: 1 } })
  t.equal(many.matchedCount, 2)
  t.equal(many.modifiedCount, 2)
  const same = await c.updateMany({ g: 1 }, { $set: { v: 1 } })
  t.equal(same.matchedCount, 2)
  t.equal(same.modifiedCount, 0, 'setting the same value modifies nothing')

  const up = await c.updateOne({ key: 'k1', n: { $gt: 0 } }, { $set: { x: 1 }, $setOnInsert: { created: true } }, { upsert: true })
  t.equal(up.upsertedCount, 1)
  t.ok(up.upsertedId)
  const ins = await c.findOne({ _id: up.upsertedId as never })
  t.same({ ...ins, _id: undefined }, { _id: undefined, key: 'k1', x: 1, created: true }, 'equality fields copied, $setOnInsert applied')
  await c.updateOne({ key: 'k1' }, { $set: { x: 2 }, $setOnInsert: { created: false } }, { upsert: true })
  const again = await c.findOne({ key: 'k1' })
  t.equal(again?.created, true, '$setOnInsert ignored when matching')
  t.equal(again?.x, 2)

  const rep = await c.replaceOne({ key: 'k1' }, { key: 'k1', replaced: true })
  t.equal(rep.modifiedCount, 1)
  const r2 = await c.findOne({ key: 'k1' })
  t.same(Object.keys(r2 ?? {}), ['_id', 'key', 'replaced'])
  const repUp = await c.replaceOne({ _id: 77 as never }, { only: 'this' }, { upsert: true })
  t.equal(repUp.upsertedId, 77)
  t.same(await c.findOne({ _id: 77 as never }), { _id: 77, only: 'this' })

  const pipe = await c.updateOne({ _id: 77 as never }, [{ $set: { copy: '$only' } }])
  t.equal(pipe.modifiedCount, 1)
  t.equal((await c.findOne({ _id: 77 as never }))?.copy, 'this')
})

t.test('update errors: _id change, unknown modifier, conflicts, type errors', async (t) => {
  const c = db.collection('upd_err')
  await c.insertOne({ _id: 1 as never, s: 'str', n: 1 })
  const idChange = await serverError(c.updateOne({ _id: 1 as never }, { $set: { _id: 2 as never } }))
  t.equal(idChange.code, 66)
  const idRep = await serverError(c.replaceOne({ _id: 1 as never }, { _id: 3 as never, x: 1 }))
  t.equal(idRep.code, 66)
  const fam = await serverError(c.findOneAndUpdate({ _id: 1 as never }, { $set: { _id: 5 as never } }))
  t.equal(fam.code, 66)
  t.equal(fam.codeName, 'ImmutableField')
  const unknown = await serverError(db.command({ update: 'upd_err', updates: [{ q: {}, u: { $foo: { a: 1 } } }] }).then((r) => {
    if (r.writeErrors) throw new MongoServerError(r.writeErrors[0])
  }))
  t.equal(unknown.code, 9)
  t.match(unknown.message, /^Unknown modifier: \$foo/)
  const viaDriver = await serverError(c.updateOne({}, { $foo: { a: 1 } } as never))
  t.equal(viaDriver.code, 9)
  const conflict = await serverError(c.updateOne({}, { $set: { n: 1 }, $inc: { n: 1 } }))
  t.equal(conflict.code, 40)
  const nonNum = await serverError(c.updateOne({}, { $inc: { s: 1 } } as never))
  t.equal(nonNum.code, 14)
  const notArray = await serverError(c.updateOne({}, { $push: { s: 1 } } as never))
  t.equal(notArray.code, 2)
  const badOp = await serverError(c.find({ n: { $foo: 1 } }).toArray())
  t.equal(badOp.code, 2)
  t.equal(badOp.codeName, 'BadValue')
  t.equal(badOp.message, 'unknown operator: $foo')
  const badTop = await serverError(c.find({ $foo: 1 }).toArray())
  t.equal(badTop.code, 2)
  t.match(badTop.message, /unknown top level operator: \$foo/)
  t.same(await c.findOne({ _id: 1 as never }), { _id: 1, s: 'str', n: 1 }, 'failed updates left the document untouched')
})

t.test('delete with limit 0 and 1', async (t) => {
  const c = db.collection('del')
  await c.insertMany([{ k: 1 }, { k: 1 }, { k: 1 }, { k: 2 }])
  t.equal((await c.deleteOne({ k: 1 })).deletedCount, 1)
  t.equal((await c.deleteMany({ k: 1 })).deletedCount, 2)
  t.equal((await c.deleteMany({ k: 9 })).deletedCount, 0)
  t.equal(await c.countDocuments(), 1)
  const raw = await db.command({ delete: 'del', deletes: [{ q: {}, limit: 0 }] })
  t.equal(raw.n, 1)
})

t.test('findAndModify: sort, new, upsert, remove, fields', async (t) => {
  const c = db.collection('fam')
  await c.insertMany([{ _id: 1 as never, p: 3, s: 'a' }, { _id: 2 as never, p: 1, s: 'a' }, { _id: 3 as never, p: 2, s: 'a' }])
  const before = await c.findOneAndUpdate({ s: 'a' }, { $set: { s: 'b' } }, { sort: { p: 1 } })
  t.same(before, { _id: 2, p: 1, s: 'a' }, 'returns the document before by default')
  const after = await c.findOneAndUpdate({ s: 'a' }, { $set: { s: 'b' } }, { sort: { p: -1 }, returnDocument: 'after', projection: { s: 1 } })
  t.same(after, { _id: 1, s: 'b' })
  const none = await c.findOneAndUpdate({ s: 'zzz' }, { $set: { s: 'b' } })
  t.equal(none, null)
  const raw = await db.command({ findAndModify: 'fam', query: { _id: 9 }, update: { $set: { s: 'new' }, $setOnInsert: { p: 0 } }, upsert: true, new: true })
  t.same(raw.value, { _id: 9, s: 'new', p: 0 })
  t.equal(raw.lastErrorObject.n, 1)
  t.equal(raw.lastErrorObject.updatedExisting, false)
  t.equal(raw.lastErrorObject.upserted, 9)
  const raw2 = await db.command({ findAndModify: 'fam', query: { _id: 9 }, update: { $inc: { p: 1 } } })
  t.equal(raw2.lastErrorObject.updatedExisting, true)
  t.same(raw2.value, { _id: 9, s: 'new', p: 0 })
  const removed = await c.findOneAndDelete({ _id: 3 as never })
  t.same(removed, { _id: 3, p: 2, s: 'a' })
  t.equal(await c.countDocuments({ _id: 3 as never }), 0)
  const replaced = await c.findOneAndReplace({ _id: 9 as never }, { s: 'rep' }, { returnDocument: 'after' })
  t.same(replaced, { _id: 9, s: 'rep' })
  const pipe = await c.findOneAndUpdate({ _id: 9 as never }, [{ $set: { t: { $concat: ['$s', '!'] } } }], { returnDocument: 'after' })
  t.equal(pipe?.t, 'rep!')
  const bad = await serverError(db.command({ findAndModify: 'fam', query: {} }))
  t.equal(bad.code, 9)
})

t.test('count and distinct', async (t) => {
  const c = db.collection('cd')
  await c.insertMany([{ t: ['x', 'y'], n: 1 }, { t: 'x', n: 2 }, { t: 'z', n: 2 }, { n: 3 }])
  t.equal(await c.countDocuments({ n: 2 }), 2)
  t.equal(await c.estimatedDocumentCount(), 4)
  t.equal((await db.command({ count: 'cd', query: { n: { $gte: 2 } }, skip: 1 })).n, 2)
  t.equal((await db.command({ count: 'cd', limit: 2 })).n, 2)
  t.equal((await db.command({ count: 'nope' })).n, 0)
  t.same((await c.distinct('t')).sort(), ['x', 'y', 'z'], 'arrays are unwound')
  t.same(await c.distinct('n', { n: { $gt: 1 } }), [2, 3])
  t.same(await db.collection('nope').distinct('a'), [])
})

t.test('write concern 0 (moreToCome) is accepted without a reply', async (t) => {
  const c = db.collection('w0')
  await c.insertOne({ a: 1 }, { writeConcern: { w: 0 } })
  // The next command on the pool is processed after the unacknowledged one.
  t.equal(await c.countDocuments({ a: 1 }), 1)
})
