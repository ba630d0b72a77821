// A hold whose expiry job cannot be scheduled because the database is unreachable answers at once
// (the route maps the driver's error to 503 DATABASE_UNAVAILABLE) without trying the booking
// insert, which would wait out server selection a second time, and gives its seats back. Any
// other scheduling failure still writes the booking: the sweep expires it.
import t from 'tap'
import { Types } from 'mongoose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createShow, signUp, statusByLabel, waitFor } from '../helper.js'
import type { BookingService } from '../../src/services/booking-service.js'
import { databaseFault } from '../../src/services/mongo-errors.js'
import { bookingServiceOver } from './support.js'

function serviceOver (app: FastifyInstance, scheduleExpiry: () => Promise<void>): BookingService {
  return bookingServiceOver(app, { seatMapMaxAgeMs: 1000, seatMapHardMaxAgeMs: 2000, scheduleExpiry }).bookings
}

t.test('expiry not scheduled', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUp(app, 'alice')
  const bookingsOf = async (): Promise<number> => await app.models.Booking.countDocuments({ userId: new Types.ObjectId(alice.id) })

  t.test('because the database is unreachable: the driver\'s error, no booking, the seats free again', async (t) => {
    const show = await createShow(app)
    const unreachable = Object.assign(new Error('Server selection timed out after 3000 ms'), { name: 'MongoServerSelectionError' })
    const bookings = serviceOver(app, async () => { throw unreachable })
    const before = await bookingsOf()
    const error = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['A1', 'A2'] }).then(() => undefined, (e: unknown) => e)
    t.equal(error, unreachable, 'the hold fails with the database\'s error')
    t.equal(databaseFault(error), 'unreachable', 'which the API answers as 503 DATABASE_UNAVAILABLE')
    t.equal(await bookingsOf(), before, 'no booking was written')
    // The give-back is not awaited (with the database really gone it would wait out server selection).
    await waitFor('A1 and A2 free again', 5000, async () => {
      const status = await statusByLabel(app, show.id)
      return status.A1 === 'AVAILABLE' && status.A2 === 'AVAILABLE' ? true : undefined
    })
    t.pass('A1 and A2 free again')
  })

  t.test('for another reason: the booking is written and held (the sweep expires it)', async (t) => {
    const show = await createShow(app)
    const bookings = serviceOver(app, async () => { throw new Error('agenda refused the job') })
    const held = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['A1'] })
    t.equal(held.status, 'PENDING')
    const status = await statusByLabel(app, show.id)
    t.equal(status.A1, 'HELD')
  })
})
