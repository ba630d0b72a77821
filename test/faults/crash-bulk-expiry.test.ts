// An instance SIGKILLed in a bulk expiry pass, between failing the overdue bookings (one
// updateMany) and freeing their seats: FAILED bookings with HELD seats. With the recovery sweep
// out of the way (SWEEP_SECONDS an hour), their own expire-hold jobs, run by another instance,
// must free the seats (a job that finds its booking FAILED frees what is still HELD for it).
import t from 'tap'
import { ObjectId, MongoClient } from 'mongodb'
import { auditDatabase } from '../audit.js'
import { adminToken, agendaJobs, call, createShow, mintUsers, startDatabase, startInstances, waitFor, type Booking } from './processes.js'

t.test('SIGKILL between the bulk pass\'s FAILED and its seat release: the bookings\' jobs free the seats, no sweep needed', async (t) => {
  const db = await startDatabase(t)
  const common = { uri: db.uri, holdSeconds: 120, sweepSeconds: 3600, env: { OVERDUE_PASS_MS: '0' } }
  const [a] = await startInstances(t, [{ name: 'A (crash in a bulk expiry pass)', ...common, crashAt: 'after-bulk-expire' }])
  const admin = await adminToken(a.url)
  const showId = await createShow(a.url, admin, 20)
  const users = await mintUsers(db.uri, 3)
  const labels = [['A1', 'A2'], ['A3'], ['A4', 'A5']]
  const bookings: Booking[] = []
  for (const [k, seatLabels] of labels.entries()) {
    const res = await call<Booking>(a.url, 'POST', `/api/shows/${showId}/bookings`, { token: users[k].token, body: { seatLabels } })
    t.equal(res.status, 201)
    bookings.push(res.body)
  }
  const client = new MongoClient(db.uri, { serverSelectionTimeoutMS: 3000 })
  t.teardown(async () => await client.close())
  const mongo = client.db()
  const ids = bookings.map((b) => new ObjectId(b.id))
  // Every hold lapsed 5 s ago. The first booking's job is due now, 5 s late: it expires its own
  // booking, then catches up in bulk (the others are overdue) and A dies after the bulk FAILED.
  // The others' jobs come due a little later (as if queued behind), after A's death.
  const lapsedAt = new Date(Date.now() - 5000)
  await mongo.collection('bookings').updateMany({ _id: { $in: ids } }, { $set: { expiresAt: lapsedAt } })
  await mongo.collection('seats').updateMany({ bookingId: { $in: ids }, status: 'HELD' }, { $set: { heldUntil: lapsedAt } })
  const jobs = mongo.collection('agendaJobs')
  const later = new Date(Date.now() + 8000)
  t.equal((await jobs.updateMany({ 'data.bookingId': { $in: bookings.slice(1).map((b) => b.id) } }, { $set: { nextRunAt: later, 'data.expiresAt': later.toISOString() } })).modifiedCount, 2)
  t.equal((await jobs.updateOne({ 'data.bookingId': bookings[0].id }, { $set: { nextRunAt: new Date(), 'data.expiresAt': lapsedAt.toISOString() } })).modifiedCount, 1)

  t.same(await a.child.waitExit(30_000), { code: null, signal: 'SIGKILL' }, 'A was SIGKILLed in the bulk pass')
  const state = async (): Promise<Array<[string, string[]]>> => await Promise.all(bookings.map(async (b) => {
    const booking = await mongo.collection('bookings').findOne({ _id: new ObjectId(b.id) })
    const seats = await mongo.collection('seats').find({ _id: { $in: b.seats.map((s) => new ObjectId(s.id)) } }).sort({ label: 1 }).toArray()
    return [String(booking?.status), seats.map((s) => String(s.status))] as [string, string[]]
  }))
  t.same(await state(), [['FAILED', ['AVAILABLE', 'AVAILABLE']], ['FAILED', ['HELD']], ['FAILED', ['HELD', 'HELD']]],
    'the late job\'s own booking expired and freed; the bulk pass failed the other two and died before freeing their seats')

  const [b] = await startInstances(t, [{ name: 'B', ...common }])
  await waitFor('every seat AVAILABLE again', 60_000, async () =>
    (await state()).every(([status, seats]) => status === 'FAILED' && seats.every((s) => s === 'AVAILABLE')) ? true : undefined)
    .catch(async (error: unknown) => {
      t.comment(`Agenda jobs:\n${await agendaJobs(db.uri)}`)
      throw error
    })
  t.same(await auditDatabase(db.uri, showId), [], 'every seat AVAILABLE, HELD by a live booking or BOOKED by a confirmed one')
  const again = await call<Booking>(b.url, 'POST', `/api/shows/${showId}/bookings`, { token: users[0].token, body: { seatLabels: ['A3', 'A4', 'A5'] } })
  t.equal(again.status, 201, 'a new hold for the freed seats succeeds')
})
