// mongoose 9 runs unchanged on the embedded server.
import t from 'tap'
import mongoose, { Schema } from 'mongoose'
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/embedded-mongo/index.js'

let server: EmbeddedMongo
let conn: mongoose.Connection

t.before(async () => {
  server = await startEmbeddedMongo()
  conn = await mongoose.createConnection(server.uri + 'mongoose_test').asPromise()
})

t.teardown(async () => {
  await conn.close()
  await server.stop()
})

const seatSchema = new Schema({
  showId: { type: Schema.Types.ObjectId, required: true },
  label: { type: String, required: true },
  status: { type: String, enum: ['AVAILABLE', 'HELD', 'BOOKED'], default: 'AVAILABLE' },
  bookingId: { type: Schema.Types.ObjectId, default: null },
  heldUntil: { type: Date, default: null },
  price: Number,
}, { timestamps: true })
seatSchema.index({ showId: 1, label: 1 }, { unique: true })
seatSchema.index({ showId: 1, status: 1 })

const userSchema = new Schema({ email: { type: String, unique: true, lowercase: true }, name: String })

t.test('schemas with unique indexes are built by autoIndex and enforced', async (t) => {
  const User = conn.model('User', userSchema)
  await User.init()
  const idx = await User.collection.indexes()
  t.ok(idx.some((i) => i.name === 'email_1' && i.unique === true), 'email_1 unique index exists')
  await User.create({ email: 'A@x.io', name: 'a' })
  const err = await User.create({ email: 'a@x.io', name: 'b' }).then(() => undefined, (e: unknown) => e as { code?: number; keyValue?: unknown; message: string })
  t.equal(err?.code, 11000)
  t.same(err?.keyValue, { email: 'a@x.io' })
  t.match(err?.message, /^E11000 duplicate key error collection: mongoose_test\.users index: email_1 dup key: \{ email: "a@x\.io" \}/)
})

t.test('insertMany, countDocuments, findOneAndUpdate returnDocument after, lean', async (t) => {
  const Seat = conn.model('Seat', seatSchema)
  await Seat.init()
  const showId = new mongoose.Types.ObjectId()
  const docs = await Seat.insertMany(Array.from({ length: 20 }, (_, i) => ({ showId, label: `A${i}`, price: 10 + i })))
  t.equal(docs.length, 20)
  t.equal(await Seat.countDocuments({ showId, status: 'AVAILABLE' }), 20)
  const bookingId = new mongoose.Types.ObjectId()
  const heldUntil = new Date(Date.now() + 60_000)
  const held = await Seat.findOneAndUpdate(
    { showId, status: 'AVAILABLE' },
    { $set: { status: 'HELD', bookingId, heldUntil } },
    { returnDocument: 'after' },
  ).lean()
  t.ok(held)
  t.equal(held?.status, 'HELD')
  t.ok(held?.bookingId?.equals(bookingId))
  t.equal(held?.heldUntil?.getTime(), heldUntil.getTime())
  t.ok(held?.updatedAt instanceof Date, 'timestamps maintained by mongoose')
  t.equal(await Seat.countDocuments({ showId, status: 'AVAILABLE' }), 19)
  const lean = await Seat.find({ showId }).sort({ price: -1 }).limit(3).lean()
  t.same(lean.map((s) => s.label), ['A19', 'A18', 'A17'])
  t.notOk(lean[0] instanceof mongoose.Document, 'lean returns plain objects')
  const dup = await Seat.insertMany([{ showId, label: 'A1' }]).then(() => undefined, (e: unknown) => e as { code?: number })
  t.equal(dup?.code, 11000)
  const upd = await Seat.updateMany({ bookingId }, { $set: { status: 'BOOKED' } })
  t.equal(upd.modifiedCount, 1)
  const del = await Seat.deleteMany({ showId, status: 'AVAILABLE' })
  t.equal(del.deletedCount, 19)
})

t.test('document save, validation-independent updates and populate-free queries', async (t) => {
  const Note = conn.model('Note', new Schema({ title: String, tags: [String], n: { type: Number, default: 0 } }))
  const doc = await Note.create({ title: 'x', tags: ['a'] })
  doc.title = 'y'
  doc.tags.push('b')
  await doc.save()
  const back = await Note.findById(doc._id).lean()
  t.same(back?.tags, ['a', 'b'])
  t.equal(back?.title, 'y')
  await Note.updateOne({ _id: doc._id }, { $inc: { n: 2 }, $addToSet: { tags: 'a' } })
  const again = await Note.findById(doc._id)
  t.equal(again?.n, 2)
  t.same(again?.tags, ['a', 'b'])
  t.equal(await Note.estimatedDocumentCount(), 1)
  t.same(await Note.distinct('tags'), ['a', 'b'])
  await again?.deleteOne()
  t.equal(await Note.countDocuments(), 0)
})

t.test('Model.watch(): a seat map\'s stream of status changes, resumable by token', async (t) => {
  const Seat = conn.model('WatchedSeat', seatSchema)
  await Seat.init()
  const showId = new mongoose.Types.ObjectId()
  await Seat.create([{ showId, label: 'A1' }, { showId, label: 'A2' }])
  const stream = Seat.watch([
    { $match: { operationType: 'update', 'fullDocument.showId': showId } },
    { $project: { 'fullDocument.label': 1, 'fullDocument.status': 1 } }
  ], { fullDocument: 'updateLookup' })
  const events: Array<{ _id: unknown, fullDocument: { label: string, status: string } }> = []
  const got = new Promise<void>((resolve) => {
    stream.on('change', (e: { _id: unknown, fullDocument: { label: string, status: string } }) => {
      events.push(e)
      if (events.length === 2) resolve()
    })
  })
  // The stream's cursor is open once the driver has run its aggregate ('resumeTokenChanged' follows it).
  await new Promise((resolve) => stream.once('resumeTokenChanged', resolve))
  await Seat.updateOne({ showId, label: 'A1' }, { $set: { status: 'HELD' } })
  await Seat.updateOne({ showId, label: 'A2' }, { $set: { status: 'BOOKED' } })
  await got
  await stream.close()
  t.same(events.map((e) => [e.fullDocument.label, e.fullDocument.status]), [['A1', 'HELD'], ['A2', 'BOOKED']])
  const resumed = Seat.watch([], { resumeAfter: events[0]._id })
  const next = await new Promise<{ documentKey: unknown }>((resolve) => resumed.once('change', resolve))
  await resumed.close()
  const a2 = await Seat.findOne({ showId, label: 'A2' }).lean()
  t.same(next.documentKey, { _id: a2?._id }, 'resumed after the first event: the second comes next')
})
