import { Type, type Static } from '@sinclair/typebox'
import { BOOKING_STATUSES } from '../models/booking.js'
import { CategoryName, ShowType } from './show.js'
import { DateTime, ListOf, Nullable, NullableDateTime, ObjectIdString, Pagination } from './common.js'

export const BookingStatus = Type.Union(BOOKING_STATUSES.map((status) => Type.Literal(status)))

export const Booking = Type.Object({
  id: ObjectIdString,
  showId: ObjectIdString,
  show: Type.Object({
    name: Type.String(),
    type: ShowType,
    venue: Nullable(Type.String()),
    startTime: DateTime
  }, { description: 'the booked show, as it is now: a client lists bookings without a request per show' }),
  userId: ObjectIdString,
  status: BookingStatus,
  seats: Type.Array(Type.Object({ id: ObjectIdString, label: Type.String(), category: Type.String(), priceCents: Type.Integer() })),
  totalPriceCents: Type.Integer({ description: 'the sum of the seats\' prices' }),
  expiresAt: DateTime,
  extensions: Type.Integer({ minimum: 0, description: 'how many times the hold was extended' }),
  createdAt: DateTime,
  confirmedAt: NullableDateTime,
  cancelledAt: NullableDateTime,
  failureReason: Nullable(Type.String({
    examples: ['EXPIRED'],
    description: 'why a FAILED booking failed: `EXPIRED` (its hold lapsed before confirm), or `ABANDONED` (a hold attempt ' +
      'that stopped answering, taken over by a repeat of its request with the same Idempotency-Key: this booking lists no seats, and any the attempt had claimed were given back). ' +
      'Null unless FAILED.'
  }))
}, { $id: 'Booking', title: 'Booking' })
export type Booking = Static<typeof Booking>
export const BookingList = ListOf(Type.Ref(Booking), 'Booking')

// ObjectIdString without its `examples`: OpenAPI 3.0 schema objects have no `examples`, and
// @fastify/swagger rewrites it to `example` on properties but not inside array items, which
// made /docs/json invalid (swagger-parser refused the hold's request body).
const SeatId = Type.String({ pattern: ObjectIdString.pattern, description: ObjectIdString.description })
/** The hold's body; `maxSeats` is the MAX_SEATS_PER_BOOKING setting, the one place a booking's seats are capped. */
export const holdBody = (maxSeats: number) => Type.Union([
  Type.Object({ seatIds: Type.Array(SeatId, { minItems: 1, maxItems: maxSeats, uniqueItems: true }) }, { additionalProperties: false, title: 'HoldBySeatIds' }),
  Type.Object({ seatLabels: Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { minItems: 1, maxItems: maxSeats, uniqueItems: true }) }, { additionalProperties: false, title: 'HoldBySeatLabels' }),
  Type.Object({
    quantity: Type.Integer({ minimum: 1, maximum: maxSeats }),
    category: Type.Optional(CategoryName),
    adjacent: Type.Optional(Type.Boolean({ description: 'consecutive seats of one row (default true)' }))
  }, { additionalProperties: false, title: 'HoldBestAvailable', description: 'the service chooses: see Best available' })
], {
  description: `exactly one of seatIds, seatLabels (1–${maxSeats} distinct entries, MAX_SEATS_PER_BOOKING) or quantity (best available, 1–${maxSeats})`,
  'x-examples': {
    byLabels: { summary: 'Seats by label, as the seat map shows them', value: { seatLabels: ['C7', 'C8'] } },
    byIds: { summary: 'Seats by id', value: { seatIds: ['6761a7f2c9d1e8a4b2f0c312', '6761a7f2c9d1e8a4b2f0c313'] } },
    bestAvailable: { summary: 'Best available: four adjacent PREMIUM seats', value: { quantity: 4, category: 'PREMIUM', adjacent: true } }
  }
})
export type HoldBody = Static<ReturnType<typeof holdBody>>

export const HoldHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'repeat a hold safely: the same key answers the first answer again' }))
})
export type HoldHeaders = Static<typeof HoldHeaders>

export const ConfirmBody = Type.Union([
  Type.Object({ paymentReference: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the payment provider\'s reference, kept with the booking' })) }, { additionalProperties: false }),
  Type.Null()
], {
  'x-examples': {
    withPayment: { summary: 'With the payment\'s reference', value: { paymentReference: 'pay_3NfK82LkdF0aQ1' } },
    bare: { summary: 'Without a reference (the body may also be left out)', value: {} }
  }
})
export type ConfirmBody = Static<typeof ConfirmBody>

export const BookingQuery = Type.Object({
  status: Type.Optional(BookingStatus),
  ...Pagination
}, { additionalProperties: false })
export type BookingQuery = Static<typeof BookingQuery>
