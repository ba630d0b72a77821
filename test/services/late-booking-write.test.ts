// A hold whose booking insert is slow (a stalled process or a slow reply, not a crash) past its
// heldUntil. The expire-hold job is scheduled before the insert, so it can fire while the insert
// is in flight: it must not free seats the booking is about to own, and a hold whose booking lands
// after heldUntil must not be answered as held (its seats may be someone else's by then).
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestApp, createShow, hold, json, signUp, waitFor } from '../helper.js'

interface Body { id: string, status: string, code?: string }

/** The app with the first booking insert's reply delayed by `stallMs` (the write itself lands at the end). */
async function appWithSlowInsert (t: Parameters<typeof buildTestApp>[0], stallMs: number) {
  const app = await buildTestApp(t, { HOLD_SECONDS: '2', SWEEP_SECONDS: '3600' })
  const collection = app.models.Booking.collection
  const insertOne = collection.insertOne.bind(collection)
  let stall = true
  ;(collection as unknown as { insertOne: typeof insertOne }).insertOne = (async (...args: Parameters<typeof insertOne>) => {
    if (stall) { stall = false; await sleep(stallMs) }
    return await insertOne(...args)
  }) as typeof insertOne
  return app
}

// 2.5 s: the insert lands while the job waits out its grace (the job then expires the booking);
// 6 s: it lands after the job freed the seats (the hold fails its own booking).
for (const stallMs of [2500, 6000]) {
  t.test(`a booking insert that returns ${stallMs / 1000} s into a 2 s hold: 503, the booking FAILED, the seat taken by the next buyer`, async (t) => {
    const app = await appWithSlowInsert(t, stallMs)
    const show = await createShow(app)
    const a = await signUp(app, 'a')
    const b = await signUp(app, 'b')
    const first = hold(app, a.authorization, show.id, { seatLabels: ['A1'] })
    // b gets A1 once a's hold is settled, never while a's booking could still be answered as held.
    const taken = await waitFor('A1 to be taken by b', 15_000, async () => {
      const r = await hold(app, b.authorization, show.id, { seatLabels: ['A1'] })
      return r.statusCode === 201 ? json<Body>(r) : undefined
    }, 500)
    const owner = await app.models.Seat.findOne({ showId: show.id, label: 'A1' }).lean<{ bookingId: unknown }>()
    t.equal(String(owner?.bookingId), taken.id, 'A1 is b\'s hold')
    const res = await first
    t.equal(res.statusCode, 503, 'a is not told it holds A1')
    t.equal(json<Body>(res).code, 'DATABASE_UNAVAILABLE')
    const mine = await waitFor('a\'s booking to be written', 15_000, async () =>
      await app.models.Booking.findOne({ userId: a.id }).lean<{ _id: unknown, status: string }>() ?? undefined, 100)
    t.equal(mine.status, 'FAILED', 'a\'s booking, written late, is FAILED at once')
    // (b's own two-second hold may have lapsed since: A1 is then AVAILABLE, never a's.)
    const seat = await app.models.Seat.findOne({ showId: show.id, label: 'A1' }).lean<{ bookingId: unknown }>()
    t.not(String(seat?.bookingId), String(mine._id), 'A1 never went to a\'s late booking')
  })
}
