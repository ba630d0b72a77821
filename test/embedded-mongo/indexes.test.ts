// createIndexes / listIndexes / dropIndexes, unique constraints (E11000 shapes), sparse,
// partial and TTL indexes, and that indexed lookups do not scan.
import t from 'tap'
import { MongoBulkWriteError } from 'mongodb'
import { Collection } from '../../src/embedded-mongo/collection.js'
import { topK } from '../../src/embedded-mongo/query-exec.js'
import { serverError, useEmbeddedMongo } from './support.js'

const mongo = useEmbeddedMongo('index_test')


t.test('createIndexes names, no-op repeats, conflicts; listIndexes; dropIndexes', async (t) => {
  const c = mongo.db.collection('ix')
  t.equal(await c.createIndex({ a: 1, b: -1 }), 'a_1_b_-1', 'default name like MongoDB')
  t.equal(await c.createIndex({ a: 1, b: -1 }), 'a_1_b_-1', 'same index again is a no-op')
  const raw = await mongo.db.command({ createIndexes: 'ix', indexes: [{ key: { a: 1, b: -1 }, name: 'a_1_b_-1' }] })
  t.equal(raw.note, 'all indexes already exist')
  t.equal(await c.createIndex({ s: 1 }, { name: 'custom', sparse: true }), 'custom')
  const sameNameOtherKey = await serverError(c.createIndex({ z: 1 }, { name: 'custom' }))
  t.equal(sameNameOtherKey.code, 86)
  t.equal(sameNameOtherKey.codeName, 'IndexKeySpecsConflict')
  const sameNameOtherOpts = await serverError(c.createIndex({ s: 1 }, { name: 'custom', unique: true }))
  t.equal(sameNameOtherOpts.code, 85)
  t.equal(sameNameOtherOpts.codeName, 'IndexOptionsConflict')
  const list = await c.listIndexes().toArray()
  t.same(list.map((i) => i.name), ['_id_', 'a_1_b_-1', 'custom'])
  t.same(list[1].key, { a: 1, b: -1 })
  t.equal(list[2].sparse, true)
  t.ok(await c.indexExists('custom'))
  const missing = await serverError(mongo.db.collection('nope').listIndexes().toArray())
  t.equal(missing.code, 26)
  await c.dropIndex('custom')
  await c.dropIndex({ a: 1, b: -1 } as never)
  t.same((await c.listIndexes().toArray()).map((i) => i.name), ['_id_'])
  const notFound = await serverError(c.dropIndex('zzz'))
  t.equal(notFound.code, 27)
  const idDrop = await serverError(c.dropIndex('_id_'))
  t.equal(idDrop.code, 72)
  await c.createIndex({ q: 1 })
  await c.createIndex({ r: 1 })
  await c.dropIndexes()
  t.same((await c.listIndexes().toArray()).map((i) => i.name), ['_id_'])
  const bad = await serverError(c.createIndex({ t: 'text' }))
  t.equal(bad.code, 67)
})

t.test('E11000 on insert, update, upsert and findAndModify', async (t) => {
  const c = mongo.db.collection('users')
  await c.createIndex({ email: 1 }, { unique: true })
  await c.insertOne({ email: 'x@y.z', n: 1 })

  const insErr = await serverError(c.insertOne({ email: 'x@y.z' }))
  t.equal(insErr.code, 11000)
  t.same(insErr.keyPattern, { email: 1 })
  t.same(insErr.keyValue, { email: 'x@y.z' })
  t.equal(insErr.message, 'E11000 duplicate key error collection: index_test.users index: email_1 dup key: { email: "x@y.z" }')

  // insertMany reports writeErrors with the failing index; ordered stops there.
  let bulk: unknown
  try {
    await c.insertMany([{ email: 'a' }, { email: 'x@y.z' }, { email: 'b' }])
  } catch (e) {
    bulk = e
  }
  t.ok(bulk instanceof MongoBulkWriteError)
  const be = bulk as MongoBulkWriteError
  t.equal(be.code, 11000)
  t.equal(be.writeErrors instanceof Array ? be.writeErrors[0].index : (be.writeErrors as { index: number }).index, 1)
  t.equal(be.result.insertedCount, 1)
  t.equal(await c.countDocuments({ email: 'b' }), 0)
  await c.insertMany([{ email: 'c' }, { email: 'x@y.z' }, { email: 'd' }], { ordered: false }).catch(() => undefined)
  t.equal(await c.countDocuments({ email: 'd' }), 1, 'unordered continues after an error')

  const updErr = await serverError(c.updateOne({ email: 'a' }, { $set: { email: 'x@y.z' } }))
  t.equal(updErr.code, 11000)
  t.same(updErr.keyValue, { email: 'x@y.z' })
  t.match(updErr.message, /^E11000 duplicate key error collection: index_test\.users index: email_1 dup key:/)

  const upsErr = await serverError(c.updateOne({ n: 99 }, { $set: { email: 'x@y.z' } }, { upsert: true }))
  t.equal(upsErr.code, 11000)
  t.same(upsErr.keyPattern, { email: 1 })

  const famErr = await serverError(c.findOneAndUpdate({ email: 'a' }, { $set: { email: 'x@y.z' } }))
  t.equal(famErr.code, 11000)
  t.equal(famErr.codeName, 'DuplicateKey')
  t.same(famErr.keyValue, { email: 'x@y.z' })
  const famUps = await serverError(c.findOneAndUpdate({ n: 1234 }, { $set: { email: 'x@y.z' } }, { upsert: true }))
  t.equal(famUps.code, 11000)

  const idErr = await serverError(c.insertOne({ _id: (await c.findOne({ email: 'a' }))?._id, email: 'q' }))
  t.equal(idErr.code, 11000)
  t.same(idErr.keyPattern, { _id: 1 })
  t.match(idErr.message, /index: _id_ dup key: \{ _id: ObjectId\('[0-9a-f]{24}'\) \}/)

  t.equal(await c.countDocuments({ email: 'x@y.z' }), 1, 'nothing was written by the failing operations')

  const dupBuild = await serverError(mongo.db.collection('users').createIndex({ n: 1 }, { unique: true }).then(async () => {
    await c.insertOne({ n: 1 })
  }))
  t.equal(dupBuild.code, 11000)
  await c.insertOne({ k: 1 })
  const buildErr = await serverError(c.createIndex({ k2: 1 }, { unique: true }))
  t.equal(buildErr.code, 11000, 'a unique index cannot be built over existing duplicates (missing fields count as null)')
})

t.test('compound unique, sparse and partial unique indexes', async (t) => {
  const c = mongo.db.collection('seats')
  await c.createIndex({ showId: 1, label: 1 }, { unique: true })
  await c.insertMany([{ showId: 1, label: 'A1' }, { showId: 2, label: 'A1' }])
  const e = await serverError(c.insertOne({ showId: 1, label: 'A1' }))
  t.same(e.keyPattern, { showId: 1, label: 1 })
  t.same(e.keyValue, { showId: 1, label: 'A1' })
  t.match(e.message, /dup key: \{ showId: 1, label: "A1" \}/)

  const s = mongo.db.collection('sparse')
  await s.createIndex({ code: 1 }, { unique: true, sparse: true })
  await s.insertMany([{ x: 1 }, { x: 2 }, { code: 'a' }])
  t.equal((await serverError(s.insertOne({ code: 'a' }))).code, 11000)
  // A sparse index serves an equality on a non-null value; null (which matches a missing field,
  // absent from a sparse index) is answered from every document.
  await s.insertOne({ code: null, x: 3 })
  t.same((await s.find({ code: 'a' }).toArray()).map((d) => d.code), ['a'], 'equality on a value')
  t.same((await s.find({ code: { $in: ['a', 'b'] } }).toArray()).map((d) => d.code), ['a'], '$in of values')
  t.same((await s.find({ code: null }, { sort: { x: 1 } }).toArray()).map((d) => d.x), [1, 2, 3], 'null matches the missing and the null field')
  t.same((await s.find({ code: { $in: [null, 'a'] } }).toArray()).length, 4, '$in with null: every document')

  const p = mongo.db.collection('partial')
  await p.createIndex({ userId: 1, key: 1 }, { unique: true, partialFilterExpression: { key: { $exists: true } } })
  await p.insertMany([{ userId: 1 }, { userId: 1 }, { userId: 1, key: 'k' }])
  t.equal((await serverError(p.insertOne({ userId: 1, key: 'k' }))).code, 11000)
  t.equal(await p.countDocuments({ userId: 1 }), 3)
})

t.test('TTL index removes expired documents', async (t) => {
  const c = mongo.db.collection('ttl')
  await c.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 })
  await c.insertMany([
    { name: 'old', expiresAt: new Date(Date.now() - 1000) },
    { name: 'soon', expiresAt: new Date(Date.now() + 300) },
    { name: 'later', expiresAt: new Date(Date.now() + 60_000) },
    { name: 'no-date', expiresAt: 'not a date' },
  ])
  const list = await c.listIndexes().toArray()
  t.equal(list[1].expireAfterSeconds, 0)
  await new Promise((r) => setTimeout(r, 2500))
  t.same((await c.find().sort({ name: 1 }).toArray()).map((d) => d.name), ['later', 'no-date'])
})

t.test('indexed lookups use the index; sort+limit selects without sorting everything', async (t) => {
  // White-box: the collection layer reports candidates from its hash indexes.
  const c = new Collection('db', 'c')
  c.addIndex({ name: 'showId_1_status_1', key: { showId: 1, status: 1 }, extra: {} })
  for (let i = 0; i < 1000; i++) c.insert({ _id: i, showId: i % 10, status: i % 2 === 0 ? 'AVAILABLE' : 'HELD' })
  const viaId = c.candidates({ _id: 5 })
  t.same([...(viaId ?? [])].map((r) => r.doc._id), [5])
  const viaCompound = [...(c.candidates({ showId: 3, status: 'HELD' }) ?? [])]
  t.equal(viaCompound.length, 100) // showId 3 ⇒ odd i ⇒ HELD
  const viaPrefix = [...(c.candidates({ showId: { $in: [1, 2] } }) ?? [])]
  t.equal(viaPrefix.length, 200)
  t.equal(c.candidates({ status: 'HELD' }), undefined, 'no usable prefix → scan')
  const rec = c.byId.get('n4')
  t.ok(rec)
  if (rec) c.replace(rec, { _id: 4, showId: 4, status: 'HELD' })
  t.equal([...(c.candidates({ showId: 4, status: 'AVAILABLE' }) ?? [])].length, 99, 'index follows updates')

  let comparisons = 0
  const items = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_000)
  const top = topK(items, 5, (a, b) => { comparisons++; return a - b })
  t.same(top, [0, 1, 2, 3, 4])
  t.ok(comparisons < 10_000 * 8, `bounded heap: ${comparisons} comparisons`)

  const coll = mongo.db.collection('sorted')
  await coll.createIndex({ n: 1 })
  await coll.insertMany(Array.from({ length: 500 }, (_, i) => ({ n: (i * 37) % 500 })))
  t.same((await coll.find().sort({ n: -1 }).limit(3).toArray()).map((d) => d.n), [499, 498, 497])
  t.same((await coll.find({ n: { $in: [3, 4] } }).sort({ n: 1 }).toArray()).map((d) => d.n), [3, 4])
})

t.test('of several usable indexes the one with the fewest candidates is read; results are those of a full scan', async (t) => {
  // White-box: { status, heldUntil } and a sparse { bookingId } both answer { bookingId, status }
  // by equality on one field; the bookingId bucket holds one seat, the status bucket all HELD ones.
  const c = new Collection('db', 'seats')
  c.addIndex({ name: 'status_1_heldUntil_1', key: { status: 1, heldUntil: 1 }, extra: {} })
  c.addIndex({ name: 'bookingId_1', key: { bookingId: 1 }, sparse: true, extra: {} })
  for (let i = 0; i < 500; i++) c.insert({ _id: i, status: i % 5 === 0 ? 'AVAILABLE' : 'HELD', bookingId: i % 5 === 0 ? null : `b${i}`, heldUntil: i })
  const one = [...(c.candidates({ bookingId: 'b7', status: 'HELD' }) ?? [])]
  t.same(one.map((r) => r.doc._id), [7], 'the bookingId bucket (1 record), not every HELD seat (400)')
  t.equal([...(c.candidates({ bookingId: { $in: ['b1', 'b2', 'b3'] }, status: 'HELD' }) ?? [])].length, 3)
  t.equal([...(c.candidates({ status: 'AVAILABLE', bookingId: null }) ?? [])].length, 100, 'null: the sparse index is not usable, the status bucket is')
  t.same([...(c.candidates({ bookingId: 'nobody', status: 'HELD' }) ?? [])], [], 'an empty bucket is the best answer')

  // Through the server: the same documents as a filter over a full scan (no index), mixed types and null included.
  const indexed = mongo.db.collection('fewest')
  const plain = mongo.db.collection('fewest_plain')
  await indexed.createIndex({ status: 1, heldUntil: 1 })
  await indexed.createIndex({ bookingId: 1 }, { sparse: true })
  await indexed.createIndex({ kind: 1, n: 1 })
  const values = [null, 1, 1.0, '1', 'b1', 'b2', true, new Date(0), [1, 'b1'], { x: 1 }]
  const docs = Array.from({ length: 300 }, (_, i) => {
    const d: Record<string, unknown> = { _id: i, status: ['HELD', 'AVAILABLE', 'BOOKED'][i % 3], kind: i % 4, n: values[i % values.length] }
    if (i % 7 !== 0) d.bookingId = values[(i * 3) % values.length]
    return d
  })
  await indexed.insertMany(docs)
  await plain.insertMany(docs)
  const filters: Array<Record<string, unknown>> = [
    { bookingId: 'b1', status: 'HELD' }, { bookingId: 1, status: 'AVAILABLE' }, { bookingId: null, status: 'HELD' },
    { bookingId: { $in: ['b1', 1, true] }, status: { $in: ['HELD', 'BOOKED'] } }, { bookingId: 'b2', kind: 2 },
    { kind: 1, n: 1 }, { kind: { $in: [0, 3] }, n: 'b1', status: 'HELD' }, { status: 'BOOKED', bookingId: { $ne: null } }
  ]
  for (const f of filters) {
    const got = (await indexed.find(f).sort({ _id: 1 }).toArray()).map((d) => d._id)
    const want = (await plain.find(f).sort({ _id: 1 }).toArray()).map((d) => d._id)
    t.same(got, want, `${JSON.stringify(f)}: ${want.length} documents`)
  }
})
