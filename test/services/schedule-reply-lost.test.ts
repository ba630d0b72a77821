// Review of 54c10ac: the expiry job's insert lands but its reply is lost (a network error after the
// driver's retry). The hold answers 503 and gives its seats back; the orphan job, at heldUntil,
// must not touch seats held since by others; a repeat with the same Idempotency-Key holds again.
import t from 'tap'
import { Types } from 'mongoose'
import type { Agenda } from 'agenda'
import { buildTestApp, createShow, hold, json, signUp, waitFor } from '../helper.js'

interface Body { id: string, status: string, code?: string }

t.test('job written, reply lost: 503, seats back, orphan job harmless, same-key repeat holds', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '2', SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob')
  const agenda = app.agenda as Agenda & { schedule: Agenda['schedule'] }
  const schedule = agenda.schedule.bind(agenda)
  let lose = 1
  const lostFor: string[] = []
  ;(agenda as unknown as { schedule: unknown }).schedule = async (...args: Parameters<Agenda['schedule']>) => {
    const job = await schedule(...args)
    if (lose > 0) {
      lose--
      lostFor.push((args[2] as { bookingId: string }).bookingId)
      throw Object.assign(new Error('connection 7 to 127.0.0.1:27017 closed'), { name: 'MongoNetworkError' })
    }
    return job
  }
  const first = await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'k' })
  t.equal(first.statusCode, 503)
  t.equal(json<Body>(first).code, 'DATABASE_UNAVAILABLE')
  const orphan = lostFor[0]
  const jobs = app.models.Booking.db.collection('agendaJobs')
  t.equal(await jobs.countDocuments({ 'data.bookingId': orphan }), 1, 'the orphan job was written')
  await waitFor('A1, A2 free', 5000, async () =>
    await app.models.Seat.collection.countDocuments({ showId: new Types.ObjectId(show.id), status: 'AVAILABLE', label: { $in: ['A1', 'A2'] } }) === 2 ? true : undefined)
  // Bob takes A2; Alice repeats with the same key and gets A1 + ... A2 is Bob's: ask A1 only? No: same request (hash) must be repeated.
  const bobs = await hold(app, bob.authorization, show.id, { seatLabels: ['A3'] })
  t.equal(bobs.statusCode, 201)
  const repeat = await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'k' })
  t.equal(repeat.statusCode, 201, 'the repeat holds again')
  const again = json<Body>(repeat)
  t.not(again.id, orphan, 'under a new booking id')
  t.equal(again.status, 'PENDING')
  const fence = await app.models.Booking.findById(orphan).lean<{ status: string }>()
  t.equal(fence?.status, 'FAILED', 'the abandoned attempt is fenced')
  // Run the orphan's job now as Agenda would after heldUntil (+ grace).
  await waitFor('orphan job done', 15_000, async () => await jobs.countDocuments({ 'data.bookingId': orphan }) === 0 ? true : undefined)
  t.equal(await app.services.bookings.expireHoldJob(new Types.ObjectId(orphan)), false, 'a rerun does nothing')
  const seats = await app.models.Seat.collection.find({ showId: new Types.ObjectId(show.id), label: { $in: ['A1', 'A2'] } }).toArray()
  // Alice's new hold may itself have lapsed by now (2 s): then AVAILABLE or HELD for her new booking, never for the orphan.
  for (const s of seats) t.not(String(s.bookingId), orphan, 'no seat held for the orphan')
  const replay = await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': 'k' })
  t.equal(replay.statusCode, 201)
  t.equal(json<Body>(replay).id, again.id, 'later repeats replay the second attempt')
})

t.test('keyed hold whose schedule fails with a database fault: answered without waiting for the RETRY mark', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '30', SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const alice = await signUp(app, 'alice')
  ;(app.agenda as unknown as { schedule: unknown }).schedule = async () => {
    throw Object.assign(new Error('Server selection timed out after 3000 ms'), { name: 'MongoServerSelectionError' })
  }
  // Stands for a database that does not answer (server selection would take 3 s): the mark hangs until released.
  const Keys = app.models.IdempotencyKey
  const updateOne = Keys.updateOne.bind(Keys)
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let marks = 0
  ;(Keys as unknown as { updateOne: unknown }).updateOne = (...args: Parameters<typeof updateOne>) => {
    const update = JSON.stringify(args[1])
    if (update.includes('RETRY')) { marks++; return gate.then(() => updateOne(...args)) }
    return updateOne(...args)
  }
  let answered = false
  const answer = hold(app, alice.authorization, show.id, { seatLabels: ['A1'] }, { 'idempotency-key': 'k2' }).then((r) => { answered = true; return r })
  await waitFor('the RETRY mark to be tried', 5000, async () => marks > 0 ? true : undefined)
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(answered, true, 'answered without waiting for the RETRY mark')
  release()
  const res = await answer
  t.equal(res.statusCode, 503)
})
