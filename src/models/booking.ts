import { Schema, type Connection, type InferSchemaType } from 'mongoose'

export const BOOKING_STATUSES = ['PENDING', 'CONFIRMED', 'FAILED', 'CANCELLED'] as const
export type BookingStatus = typeof BOOKING_STATUSES[number]

const bookingSchema = new Schema({
  showId: { type: Schema.Types.ObjectId, required: true },
  userId: { type: Schema.Types.ObjectId, required: true },
  // Seats in claim order, with their labels so a booking reads without a join.
  seats: {
    type: [{ _id: false, id: { type: Schema.Types.ObjectId, required: true }, label: { type: String, required: true } }],
    required: true
  },
  status: { type: String, enum: BOOKING_STATUSES, required: true, default: 'PENDING' },
  totalPriceCents: { type: Number, required: true },
  expiresAt: { type: Date, required: true },
  confirmedAt: { type: Date, default: null },
  cancelledAt: { type: Date, default: null },
  failureReason: { type: String, default: null },
  paymentReference: { type: String, default: null }
}, { timestamps: true, strictQuery: true, versionKey: false })
// The expiry sweep: PENDING bookings past expiresAt.
bookingSchema.index({ status: 1, expiresAt: 1 })
bookingSchema.index({ userId: 1, createdAt: -1 })
bookingSchema.index({ showId: 1, status: 1, createdAt: -1 })

export type Booking = InferSchemaType<typeof bookingSchema>
export const bookingModel = (db: Connection) => db.model('Booking', bookingSchema, 'bookings')
