// A claim that lands but whose reply is lost (a network error after the write: on a standalone,
// which does not retry writes, or when the driver's retry fails too) answers 503, and its seat is
// given back with the others at once, not left HELD until its hold would have lapsed.
import t from 'tap'
import { MongoNetworkError } from 'mongodb'
import { Types } from 'mongoose'
import { buildTestApp, createShow, hold, json, signUp, statusByLabel, waitFor } from '../helper.js'

t.test('the seat of a claim whose reply was lost is given back with the ones claimed before it', async (t) => {
  // Holds of ten minutes and no sweep: only the give-back can free the seats within the test.
  const app = await buildTestApp(t, { HOLD_SECONDS: '600', SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const alice = await signUp(app, 'alice')
  const seats = app.models.Seat.collection
  const findOneAndUpdate = seats.findOneAndUpdate.bind(seats)
  let claims = 0
  let lost = 0
  // The second claim lands, then its reply is lost.
  ;(seats as unknown as { findOneAndUpdate: unknown }).findOneAndUpdate = async (...args: Parameters<typeof seats.findOneAndUpdate>) => {
    const result = await findOneAndUpdate(...args)
    if (++claims === 2) {
      lost++
      throw new MongoNetworkError('connection 7 to 127.0.0.1:27017 closed')
    }
    return result
  }
  t.teardown(() => { delete (seats as unknown as { findOneAndUpdate?: unknown }).findOneAndUpdate })
  const res = await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'A2', 'A3'] })
  t.equal(res.statusCode, 503)
  t.equal(json<{ code: string }>(res).code, 'DATABASE_UNAVAILABLE')
  t.equal(lost, 1, 'the second claim landed and its reply was lost')
  t.equal(claims, 2, 'the third seat was not claimed')
  await waitFor('A1, A2 given back', 5000, async () => {
    const status = await statusByLabel(app, show.id)
    return status.A1 === 'AVAILABLE' && status.A2 === 'AVAILABLE' ? true : undefined
  })
  t.equal(await app.models.Seat.collection.countDocuments({ showId: new Types.ObjectId(show.id), status: { $ne: 'AVAILABLE' } }), 0, 'no seat of the show is held')
  t.equal(await app.models.Booking.countDocuments({ showId: show.id }), 0, 'and no booking was written')
  // The seats hold again at once.
  const again = await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'A2', 'A3'] })
  t.equal(again.statusCode, 201, 'the same seats hold again')
})

t.test('a claim that failed without landing gives back nothing of its own; the same hold then succeeds', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '600', SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const alice = await signUp(app, 'alice')
  const bob = await signUp(app, 'bob')
  const seats = app.models.Seat.collection
  const findOneAndUpdate = seats.findOneAndUpdate.bind(seats)
  let claims = 0
  // The second claim never reaches the database.
  ;(seats as unknown as { findOneAndUpdate: unknown }).findOneAndUpdate = async (...args: Parameters<typeof seats.findOneAndUpdate>) => {
    if (++claims === 2) throw new MongoNetworkError('connection 7 to 127.0.0.1:27017 closed')
    return await findOneAndUpdate(...args)
  }
  t.teardown(() => { delete (seats as unknown as { findOneAndUpdate?: unknown }).findOneAndUpdate })
  t.equal((await hold(app, bob.authorization, show.id, { seatLabels: ['B1'] })).statusCode, 201, 'bob holds B1 (the first claim)')
  const res = await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'B1'] })
  t.equal(res.statusCode, 503, 'alice\'s claim of A1 fails before it lands')
  await waitFor('the give-back', 5000, async () => (await statusByLabel(app, show.id)).A1 === 'AVAILABLE' ? true : undefined)
  t.equal((await statusByLabel(app, show.id)).B1, 'HELD', 'bob\'s seat is untouched')
  const again = await hold(app, alice.authorization, show.id, { seatLabels: ['A1', 'A2'] })
  t.equal(again.statusCode, 201, 'A1 holds again at once (no refusal from a stale map)')
})
