// An instance SIGKILLed in the bulk pass of a burst: 30 holds lapse at the same instant, the
// first expiry job to run expires its own booking and leaves the others to a bulk pass, and the
// instance dies between failing them (one updateMany) and freeing their seats. (The jobs run late,
// so the bulk pass is certain: an on-time burst coalesces only when Agenda starts eight jobs
// together, which on a loaded machine it may not — expiry-coalescing.test.ts covers that path.) Their own jobs stay locked by the
// dead instance for their lock's lifetime (10 s) and the sweep is an hour away: the overdue pass
// of the instance started next must free the seats within seconds of its start (found by the
// protocol review of the coalesced expiry).
import t from 'tap'
import { ObjectId, MongoClient } from 'mongodb'
import { auditDatabase } from '../audit.js'
import { adminToken, call, createShow, mintUsers, startDatabase, startInstances, waitFor, type Booking } from './processes.js'

t.test('SIGKILL in the bulk pass of a burst of lapsed holds: the instance left frees the seats within seconds, their jobs still locked by the dead one', async (t) => {
  const db = await startDatabase(t)
  const common = { uri: db.uri, holdSeconds: 120, sweepSeconds: 3600 }
  // A's own overdue pass is off: it could expire the lapsed holds before its jobs' bulk pass does
  // (no crash then); B's, the one under test, runs as configured.
  const [a] = await startInstances(t, [{ name: 'A (crash in a bulk expiry pass)', ...common, crashAt: 'after-bulk-expire', env: { OVERDUE_PASS_MS: '0' } }])
  const admin = await adminToken(a.url)
  const showId = await createShow(a.url, admin, 40)
  const users = await mintUsers(db.uri, 10)
  const bookings: Booking[] = []
  for (let k = 0; k < 30; k++) {
    const res = await call<Booking>(a.url, 'POST', `/api/shows/${showId}/bookings`, { token: users[k % 10].token, body: { seatLabels: [`${'ABC'[Math.floor(k / 10)]}${(k % 10) + 1}`] } })
    t.equal(res.status, 201)
    bookings.push(res.body)
  }
  const client = new MongoClient(db.uri, { serverSelectionTimeoutMS: 3000 })
  t.teardown(async () => await client.close())
  const mongo = client.db()
  const ids = bookings.map((b) => new ObjectId(b.id))
  // Every hold ended a second ago, its job moved with it: each job starts late, so the first to
  // run expires its own booking and then catches up with the rest in a bulk pass.
  const due = new Date(Date.now() - 1000)
  await mongo.collection('bookings').updateMany({ _id: { $in: ids } }, { $set: { expiresAt: due } })
  await mongo.collection('seats').updateMany({ bookingId: { $in: ids }, status: 'HELD' }, { $set: { heldUntil: due } })
  const moved = await mongo.collection('agendaJobs').updateMany({ 'data.bookingId': { $in: bookings.map((b) => b.id) } }, { $set: { nextRunAt: due, 'data.expiresAt': due.toISOString() } })
  t.equal(moved.modifiedCount, 30)

  const allFree = async (): Promise<boolean> =>
    await mongo.collection('seats').countDocuments({ showId: new ObjectId(showId), status: { $ne: 'AVAILABLE' } }) === 0
  // Until every seat is free or A dies, whichever first.
  const first = await waitFor('every seat AVAILABLE or A dead', 30_000, async () =>
    !a.child.running ? 'crashed' : await allFree() ? 'free' : undefined, 50)
  t.equal(first, 'crashed', 'A was SIGKILLed in a bulk pass')
  const held = await mongo.collection('seats').countDocuments({ showId: new ObjectId(showId), status: 'HELD' })
  const failed = await mongo.collection('bookings').countDocuments({ _id: { $in: ids }, status: 'FAILED' })
  t.ok(held > 0, `at the crash: ${failed} bookings FAILED, ${held} seats still HELD`)
  await startInstances(t, [{ name: 'B', ...common }])
  const bUp = Date.now()
  const freeAt = await waitFor('every seat AVAILABLE', 60_000, async () => await allFree() ? Date.now() : undefined, 50)
  // Counted from B's start (or expiresAt, if later): their jobs' locks, renewed by A until it
  // died, would keep them from B for up to 10 s; B's overdue pass runs within 2 s of its start.
  const late = freeAt - Math.max(due.getTime(), bUp)
  t.comment(`every seat AVAILABLE ${late} ms after B started`)
  t.ok(late <= 5000, `the seats were HELD by FAILED bookings ${late} ms after B started (bar: 5000 ms)`)
  t.same(await auditDatabase(db.uri, showId), [])
})
