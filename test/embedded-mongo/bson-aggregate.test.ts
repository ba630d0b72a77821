// BSON round trips, sort by BSON type order, aggregation, and concurrent claims.
import t from 'tap'
import { Binary, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson'
import { MongoServerError } from 'mongodb'
import { useEmbeddedMongo } from './support.js'

const mongo = useEmbeddedMongo('bson_test')

t.test('BSON types round-trip with their exact types', async (t) => {
  const c = mongo.db.collection('types')
  const oid = new ObjectId()
  const date = new Date('2024-05-06T07:08:09.123Z')
  const doc = {
    _id: oid,
    date,
    i32: new Int32(7),
    i64: Long.fromString('9007199254740993'),
    dbl: new Double(5),
    frac: 1.25,
    dec: Decimal128.fromString('12.345'),
    bin: new Binary(Buffer.from([1, 2, 3]), 0),
    uuid: new Binary(Buffer.alloc(16, 7), 4),
    nul: null,
    nested: [[1, 'a'], [{ x: [new Date(0)] }]],
    obj: { deep: { id: oid } },
    ts: new Timestamp({ t: 1, i: 2 }),
    min: new MinKey(),
    max: new MaxKey(),
    bool: false,
    str: 'ünïcødé',
  }
  await c.insertOne(doc)
  const back = await c.findOne({ _id: oid }, { promoteValues: false, promoteLongs: false })
  t.ok(back)
  if (!back) return
  t.ok(back._id.equals(oid))
  t.equal(back.date.getTime(), date.getTime())
  t.equal(back.i32._bsontype, 'Int32')
  t.equal(back.i32.value, 7)
  t.equal(back.i64._bsontype, 'Long')
  t.equal(back.i64.toString(), '9007199254740993')
  t.equal(back.dbl._bsontype, 'Double', 'an integral double stays a double')
  t.equal(back.frac._bsontype, 'Double')
  t.equal(back.dec._bsontype, 'Decimal128')
  t.equal(back.dec.toString(), '12.345')
  t.equal(back.bin._bsontype, 'Binary')
  t.same([...back.bin.buffer], [1, 2, 3])
  t.equal(back.uuid.sub_type, 4)
  t.equal(back.nul, null)
  t.equal(back.nested[0][1], 'a')
  t.equal(back.nested[1][0].x[0].getTime(), 0)
  t.ok(back.obj.deep.id.equals(oid))
  t.equal(back.ts._bsontype, 'Timestamp')
  t.equal(back.min._bsontype, 'MinKey')
  t.equal(back.max._bsontype, 'MaxKey')
  t.equal(back.bool, false)
  t.equal(back.str, 'ünïcødé')

  // Queries compare across numeric types and by value for ObjectId/Date/Long.
  t.equal(await c.countDocuments({ i32: 7.0 }), 1)
  t.equal(await c.countDocuments({ dbl: new Int32(5) }), 1)
  t.equal(await c.countDocuments({ i64: { $gt: Long.fromString('9007199254740992') } }), 1)
  t.equal(await c.countDocuments({ date: { $gte: new Date('2024-01-01'), $lt: new Date('2025-01-01') } }), 1)
  t.equal(await c.countDocuments({ 'obj.deep.id': new ObjectId(oid.toHexString()) }), 1)
  t.equal(await c.countDocuments({ dec: { $gt: 12 } }), 1)
  // $inc keeps MongoDB's numeric type promotion.
  await c.updateOne({ _id: oid }, { $inc: { i32: 1, i64: 1, dbl: 1 } })
  const inc = await c.findOne({ _id: oid }, { promoteValues: false, promoteLongs: false })
  t.equal(inc?.i32._bsontype, 'Int32')
  t.equal(inc?.i64.toString(), '9007199254740994')
  t.equal(inc?.dbl._bsontype, 'Double')
  t.equal(inc?.dbl.value, 6)
  // Stored documents are copies: mutating what the client sent or got changes nothing.
  doc.str = 'changed'
  t.equal((await c.findOne({ _id: oid }))?.str, 'ünïcødé')
})

t.test('sort follows BSON type order', async (t) => {
  // https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/
  const c = mongo.db.collection('order')
  const oid = new ObjectId()
  await c.insertMany([
    { k: 'maxkey', v: new MaxKey() },
    { k: 'regex', v: /x/ },
    { k: 'ts', v: new Timestamp({ t: 5, i: 1 }) },
    { k: 'date', v: new Date(5) },
    { k: 'bool', v: true },
    { k: 'oid', v: oid },
    { k: 'bin', v: new Binary(Buffer.from([9])) },
    { k: 'array', v: [[]] },
    { k: 'object', v: { a: 1 } },
    { k: 'string', v: 'abc' },
    { k: 'long', v: Long.fromNumber(3) },
    { k: 'double', v: 2.5 },
    { k: 'int', v: 1 },
    { k: 'decimal', v: Decimal128.fromString('2.75') },
    { k: 'null', v: null },
    { k: 'missing' },
    { k: 'minkey', v: new MinKey() },
  ])
  const asc = (await c.find({}).sort({ v: 1, k: 1 }).toArray()).map((d) => d.k)
  t.same(asc, ['minkey', 'missing', 'null', 'int', 'double', 'decimal', 'long', 'string', 'object',
    'array', 'bin', 'oid', 'bool', 'date', 'ts', 'regex', 'maxkey'])
  const desc = (await c.find({}).sort({ v: -1, k: -1 }).toArray()).map((d) => d.k)
  t.same(desc, [...asc].reverse())
  const limited = (await c.find({ v: { $type: 'number' } }).sort({ v: -1 }).limit(2).toArray()).map((d) => d.k)
  t.same(limited, ['long', 'decimal'])
  // Arrays sort by their smallest element ascending, largest descending.
  const a = mongo.db.collection('arrsort')
  await a.insertMany([{ k: 'x', v: [1, 10] }, { k: 'y', v: [5] }, { k: 'z', v: 3 }])
  t.same((await a.find().sort({ v: 1 }).toArray()).map((d) => d.k), ['x', 'z', 'y'])
  t.same((await a.find().sort({ v: -1 }).toArray()).map((d) => d.k), ['x', 'y', 'z'])
})

t.test('aggregate: $match (indexed), $group, $sort, $limit, $skip, $project, $count, $lookup', async (t) => {
  const shows = mongo.db.collection('shows')
  const bookings = mongo.db.collection('bookings')
  const s1 = new ObjectId()
  const s2 = new ObjectId()
  await shows.insertMany([{ _id: s1, name: 'Alien' }, { _id: s2, name: 'Brazil' }])
  await bookings.createIndex({ status: 1 })
  await bookings.insertMany([
    { showId: s1, status: 'CONFIRMED', seats: 2 },
    { showId: s1, status: 'CONFIRMED', seats: 3 },
    { showId: s2, status: 'CONFIRMED', seats: 1 },
    { showId: s2, status: 'FAILED', seats: 4 },
  ])
  const grouped = await bookings.aggregate([
    { $match: { status: 'CONFIRMED' } },
    { $group: { _id: '$showId', seats: { $sum: '$seats' }, n: { $sum: 1 } } },
    { $sort: { seats: -1 } },
    { $lookup: { from: 'shows', localField: '_id', foreignField: '_id', as: 'show' } },
    { $project: { _id: 0, name: { $arrayElemAt: ['$show.name', 0] }, seats: 1, n: 1 } },
  ]).toArray()
  t.same(grouped, [{ seats: 5, n: 2, name: 'Alien' }, { seats: 1, n: 1, name: 'Brazil' }])
  const counted = await bookings.aggregate([{ $match: { seats: { $gt: 1 } } }, { $count: 'big' }]).toArray()
  t.same(counted, [{ big: 3 }])
  const paged = await bookings.aggregate([{ $sort: { seats: 1 } }, { $skip: 1 }, { $limit: 2 }, { $project: { _id: 0, seats: 1 } }]).toArray()
  t.same(paged, [{ seats: 2 }, { seats: 3 }])
  const many = mongo.db.collection('aggbatches')
  await many.insertMany(Array.from({ length: 120 }, (_, i) => ({ i })))
  const all = await many.aggregate([{ $match: {} }], { batchSize: 25 }).toArray()
  t.equal(all.length, 120, 'aggregate cursors page with getMore')
  t.same(await mongo.db.collection('none').aggregate([{ $match: { a: 1 } }]).toArray(), [])
  const bad = await mongo.db.collection('bookings').aggregate([{ $nope: {} }]).toArray().then(() => undefined, (e: unknown) => e)
  t.ok(bad instanceof MongoServerError)
  const out = await mongo.db.collection('bookings').aggregate([{ $out: 'x' }]).toArray().then(() => undefined, (e: unknown) => e as MongoServerError)
  t.equal(out?.code, 115, '$out refused')
})

t.test('300 concurrent findOneAndUpdate claims on 100 documents: each claimed exactly once', async (t) => {
  const seats = mongo.db.collection('seats')
  const showId = new ObjectId()
  await seats.createIndex({ showId: 1, status: 1 })
  await seats.insertMany(Array.from({ length: 100 }, (_, i) => ({ showId, label: `S${i}`, status: 'AVAILABLE', bookingId: null })))
  const results = await Promise.all(Array.from({ length: 300 }, async () => {
    const bookingId = new ObjectId()
    const r = await seats.findOneAndUpdate(
      { showId, status: 'AVAILABLE' },
      { $set: { status: 'HELD', bookingId, heldUntil: new Date(Date.now() + 60_000) } },
      { returnDocument: 'after' },
    )
    return r === null ? null : { label: r.label as string, bookingId: r.bookingId as ObjectId, mine: bookingId }
  }))
  const won = results.filter((r) => r !== null)
  t.equal(won.length, 100, 'exactly 100 claims succeeded')
  t.equal(new Set(won.map((r) => r?.label)).size, 100, 'no seat claimed twice')
  t.ok(won.every((r) => r?.bookingId.equals(r.mine)), 'each winner sees its own booking id')
  t.equal(await seats.countDocuments({ showId, status: 'HELD' }), 100)
  const distinctBookings = await seats.distinct('bookingId', { showId })
  t.equal(distinctBookings.length, 100)
})

t.test('upserts with $setOnInsert under concurrency create one document', async (t) => {
  const c = mongo.db.collection('idem')
  await c.createIndex({ userId: 1, key: 1 }, { unique: true })
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => c.updateOne(
    { userId: 1, key: 'k' },
    { $setOnInsert: { createdBy: i, createdAt: new Date() }, $inc: { hits: 1 } },
    { upsert: true },
  )))
  t.ok(results.every((r) => r.status === 'fulfilled'))
  const docs = await c.find({ userId: 1, key: 'k' }).toArray()
  t.equal(docs.length, 1)
  t.equal(docs[0].hits, 20)
  t.equal(docs[0].createdBy, 0, 'only the first upsert inserted')
})
