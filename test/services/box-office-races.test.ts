// Issue 14's races: best available under a flash crowd, and extend racing expiry, confirm and cancel.
import t from 'tap'
import { Types } from 'mongoose'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, cancel, confirm, createShow, hold, holdOk, json, seatMap, signUp } from '../helper.js'
import { auditSeats } from '../audit.js'
import type { Booking } from '../../src/schemas/booking.js'
import type { SeatMap } from '../../src/schemas/show.js'
import type { ErrorBody } from '../routes/contract.js'

const SEATS_PER_ROW = 20

/** Whether a free block of `quantity` consecutive seats of one row is left on the map. */
function hasFreeBlock (map: SeatMap, quantity: number): boolean {
  let run = 0
  let row: string | null = null
  for (const seat of map.seats) {
    if (seat.row !== row) { row = seat.row; run = 0 }
    run = seat.status === 'AVAILABLE' ? run + 1 : 0
    if (run >= quantity) return true
  }
  return false
}

t.test('200 concurrent best-available holds of 2–4 seats on a 300-seat show', async (t) => {
  const app = await buildTestApp(t)
  const users = await Promise.all(Array.from({ length: 20 }, async (_, i) => signUp(app, `crowd${i}`)))
  const show = await createShow(app, { seating: { totalSeats: 300, seatsPerRow: SEATS_PER_ROW } })
  const quantities = Array.from({ length: 200 }, (_, i) => 2 + (i % 3))
  const answers = await Promise.all(quantities.map(async (quantity, i) => ({ quantity, res: await hold(app, users[i % users.length].authorization, show.id, { quantity }) })))

  const held = answers.filter((a) => a.res.statusCode === 201)
  const refused = answers.filter((a) => a.res.statusCode !== 201)
  t.ok(refused.every((a) => a.res.statusCode === 409 && json<ErrorBody>(a.res).code === 'SEATS_UNAVAILABLE'), 'every refusal is 409 SEATS_UNAVAILABLE')
  t.ok(refused.every((a) => typeof json<ErrorBody>(a.res).details?.available === 'number'), 'every refusal says how many seats are free')

  const map = await seatMap(app, show.id) as SeatMap
  const rowOf = new Map(map.seats.map((s) => [s.id, s]))
  const owner = new Map<string, string>()
  let seatsHeld = 0
  for (const { quantity, res } of held) {
    const booking = json<Booking>(res)
    t.equal(booking.seats.length, quantity, 'the quantity asked for')
    const seats = booking.seats.map((s) => rowOf.get(s.id)).filter((s) => s !== undefined).sort((a, b) => a.number - b.number)
    const adjacent = seats.length === quantity && seats.every((s, i) => s.row === seats[0].row && (i === 0 || s.number === seats[i - 1].number + 1))
    if (!adjacent) t.fail(`booking ${booking.id} is not adjacent: ${booking.seats.map((s) => s.label).join()}`)
    for (const s of booking.seats) {
      if (owner.has(s.id)) t.fail(`seat ${s.label} is in two bookings`)
      owner.set(s.id, booking.id)
    }
    seatsHeld += quantity
  }
  t.equal(map.counts.HELD, seatsHeld, 'the seats held are exactly the bookings\' seats')
  t.equal(map.counts.AVAILABLE, 300 - seatsHeld)
  // Seats are only ever taken in this test: a request refused while a block of its size was
  // still free at the end was refused while enough adjacent seats existed.
  for (const { quantity } of refused) if (hasFreeBlock(map, quantity)) t.fail(`a request for ${quantity} was refused though ${quantity} adjacent seats are free`)
  t.ok(held.length > 0 && refused.length > 0, `${held.length} held, ${refused.length} refused (${300 - seatsHeld} seats left, none in a block big enough for a refused request)`)
  t.same(await auditSeats(app.models, show.id), [], 'the seat audit finds nothing wrong')
})

t.test('extend racing expiry, 200 times: PENDING with its seats held until the new expiresAt, or FAILED with them free; never a mix', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '600', SWEEP_SECONDS: '3600' })
  const alice = await signUp(app, 'alice')
  const show = await createShow(app, { seating: { totalSeats: 200, seatsPerRow: 20 } })
  const map = await seatMap(app, show.id) as SeatMap
  const outcomes = { extended: 0, expired: 0 }
  // How far ahead the hold ends, steered so the rounds sit on the boundary: an extension that
  // lost makes the next hold end later, one that won makes it end sooner; both outcomes occur.
  let leadMs = 5
  for (let i = 0; i < 200; i++) {
    const booking = await holdOk(app, alice.authorization, show.id, [map.seats[i].label])
    // The hold is made to end in a moment, so the extension and the expiry meet at its end.
    const end = new Date(Date.now() + leadMs)
    await app.models.Booking.updateOne({ _id: booking.id }, { $set: { expiresAt: end } })
    await app.models.Seat.updateMany({ bookingId: new Types.ObjectId(booking.id) }, { $set: { heldUntil: end } })
    const expireAtEnd = async (): Promise<boolean> => {
      const wait = end.getTime() - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      return app.services.bookings.expireHold(new Types.ObjectId(booking.id))
    }
    const [extendRes, expired] = await Promise.all([
      app.inject({ method: 'POST', url: `/api/bookings/${booking.id}/extend`, headers: { authorization: alice.authorization } }),
      expireAtEnd()
    ])
    const doc = await app.models.Booking.findById(booking.id).lean()
    const seat = await app.models.Seat.findOne({ _id: booking.seats[0].id }).lean()
    if (doc === null || seat === null) throw new Error('booking or seat missing')
    leadMs = doc.status === 'PENDING' ? Math.max(0, leadMs - 2) : leadMs + 3
    if (doc.status === 'PENDING') {
      outcomes.extended++
      if (extendRes.statusCode !== 200 || expired) t.fail(`round ${i}: PENDING but extend answered ${extendRes.statusCode} and expiry ${String(expired)}`)
      if (seat.status !== 'HELD' || seat.bookingId?.toHexString() !== booking.id || seat.heldUntil?.getTime() !== doc.expiresAt.getTime()) {
        t.fail(`round ${i}: PENDING until ${doc.expiresAt.toISOString()} but its seat is ${seat.status} until ${seat.heldUntil?.toISOString() ?? 'null'}`)
      }
      if (doc.expiresAt.getTime() <= end.getTime()) t.fail(`round ${i}: extended, yet expiresAt did not move`)
    } else {
      outcomes.expired++
      // Failed by the job's expireHold or by the extension itself finding the hold over (it settles it then).
      if (doc.status !== 'FAILED') t.fail(`round ${i}: ${doc.status}, expiry answered ${String(expired)}`)
      if (extendRes.statusCode !== 409 || json<ErrorBody>(extendRes).code !== 'HOLD_EXPIRED') t.fail(`round ${i}: FAILED but extend answered ${extendRes.statusCode} ${extendRes.body}`)
      if (seat.status !== 'AVAILABLE' || seat.bookingId !== null) t.fail(`round ${i}: FAILED but its seat is ${seat.status}`)
    }
  }
  t.equal(outcomes.extended + outcomes.expired, 200, `extended ${outcomes.extended}, expired ${outcomes.expired}`)
  t.ok(outcomes.extended > 0 && outcomes.expired > 0, 'both outcomes occurred: the two really raced')
  t.same(await auditSeats(app.models, show.id), [], 'the seat audit finds nothing wrong')
})

t.test('extend racing confirm and cancel: one consistent outcome, no seat left behind', async (t) => {
  const app = await buildTestApp(t, { SWEEP_SECONDS: '3600' })
  const alice = await signUp(app, 'alice')
  const show = await createShow(app, { seating: { totalSeats: 100, seatsPerRow: 20 } })
  const map = await seatMap(app, show.id) as SeatMap
  for (let i = 0; i < 100; i++) {
    const booking = await holdOk(app, alice.authorization, show.id, [map.seats[i].label])
    const other = i % 2 === 0 ? 'confirm' : 'cancel'
    const extend = app.inject({ method: 'POST', url: `/api/bookings/${booking.id}/extend`, headers: { authorization: alice.authorization } })
    const [extendRes, otherRes] = await Promise.all<LightMyRequestResponse>([extend, other === 'confirm' ? confirm(app, alice.authorization, booking.id) : cancel(app, alice.authorization, booking.id)])
    const doc = await app.models.Booking.findById(booking.id).lean()
    const seat = await app.models.Seat.findOne({ _id: booking.seats[0].id }).lean()
    if (doc === null || seat === null) throw new Error('booking or seat missing')
    const final = other === 'confirm' ? 'CONFIRMED' : 'CANCELLED'
    if (otherRes.statusCode !== 200 || doc.status !== final) t.fail(`round ${i}: ${other} answered ${otherRes.statusCode}, booking ${doc.status}`)
    const seatOk = final === 'CONFIRMED' ? seat.status === 'BOOKED' && seat.bookingId?.toHexString() === booking.id : seat.status === 'AVAILABLE' && seat.bookingId === null
    if (!seatOk) t.fail(`round ${i}: booking ${doc.status}, its seat ${seat.status}`)
    // The extension either came first (200, counted) or found the booking settled (409 INVALID_STATE).
    if (extendRes.statusCode === 200) {
      if (doc.extensions !== 1) t.fail(`round ${i}: extend answered 200 but extensions is ${doc.extensions}`)
    } else if (extendRes.statusCode !== 409 || json<ErrorBody>(extendRes).code !== 'INVALID_STATE' || doc.extensions !== 0) {
      t.fail(`round ${i}: extend answered ${extendRes.statusCode} ${extendRes.body}, extensions ${doc.extensions}`)
    }
  }
  t.same(await auditSeats(app.models, show.id), [], 'the seat audit finds nothing wrong')
})
