import { Type, type Static } from '@sinclair/typebox'
import { DateTime, ListOf, Nullable, NullableDateTime, ObjectIdString, Pagination } from './common.js'

export const BookingStatus = Type.Union([Type.Literal('PENDING'), Type.Literal('CONFIRMED'), Type.Literal('FAILED'), Type.Literal('CANCELLED')])

export const Booking = Type.Object({
  id: ObjectIdString,
  showId: ObjectIdString,
  userId: ObjectIdString,
  status: BookingStatus,
  seats: Type.Array(Type.Object({ id: ObjectIdString, label: Type.String() })),
  totalPriceCents: Type.Integer(),
  expiresAt: DateTime,
  createdAt: DateTime,
  confirmedAt: NullableDateTime,
  cancelledAt: NullableDateTime,
  failureReason: Nullable(Type.String({ examples: ['EXPIRED'] }))
}, { $id: 'Booking', title: 'Booking' })
export type Booking = Static<typeof Booking>
export const BookingList = ListOf(Type.Ref(Booking), 'Booking')

// ObjectIdString without its `examples`: OpenAPI 3.0 schema objects have no `examples`, and
// @fastify/swagger rewrites it to `example` on properties but not inside array items, which
// made /docs/json invalid (swagger-parser refused the hold's request body).
const SeatId = Type.String({ pattern: ObjectIdString.pattern, description: ObjectIdString.description })
/**
 * The hold's body with the limit the running service enforces (MAX_SEATS_PER_BOOKING), so the
 * OpenAPI document states it and an oversized list is refused by validation, naming the field.
 */
export const holdBodySchema = (maxSeats: number) => Type.Union([
  Type.Object({ seatIds: Type.Array(SeatId, { minItems: 1, maxItems: maxSeats, uniqueItems: true }) }, { additionalProperties: false, title: 'HoldBySeatIds' }),
  Type.Object({ seatLabels: Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { minItems: 1, maxItems: maxSeats, uniqueItems: true }) }, { additionalProperties: false, title: 'HoldBySeatLabels' })
], { description: `exactly one of seatIds or seatLabels, 1–${maxSeats} distinct entries (MAX_SEATS_PER_BOOKING)` })
// The type is the same whatever the limit; 100 is the setting's ceiling.
export const HoldBody = holdBodySchema(100)
export type HoldBody = Static<typeof HoldBody>

export const HoldHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'repeat a hold safely: the same key answers the first answer again' }))
})
export type HoldHeaders = Static<typeof HoldHeaders>

export const ConfirmBody = Type.Union([
  Type.Object({ paymentReference: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false }),
  Type.Null()
])
export type ConfirmBody = Static<typeof ConfirmBody>

export const BookingQuery = Type.Object({
  status: Type.Optional(BookingStatus),
  ...Pagination
}, { additionalProperties: false })
export type BookingQuery = Static<typeof BookingQuery>
