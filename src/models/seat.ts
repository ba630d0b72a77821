import { Schema, type Connection, type InferSchemaType } from 'mongoose'

export const SEAT_STATUSES = ['AVAILABLE', 'HELD', 'BOOKED'] as const
export type SeatStatus = typeof SEAT_STATUSES[number]

const seatSchema = new Schema({
  showId: { type: Schema.Types.ObjectId, required: true },
  label: { type: String, required: true },
  row: { type: String, default: null },
  number: { type: Number, required: true },
  // Seat order on the map; labels do not sort naturally (A10 < A2).
  position: { type: Number, required: true },
  status: { type: String, enum: SEAT_STATUSES, required: true, default: 'AVAILABLE' },
  // Who holds or owns the seat; null while AVAILABLE.
  bookingId: { type: Schema.Types.ObjectId, default: null },
  heldUntil: { type: Date, default: null }
}, { strictQuery: true, versionKey: false })
seatSchema.index({ showId: 1, label: 1 }, { unique: true })
seatSchema.index({ showId: 1, status: 1 })
seatSchema.index({ showId: 1, position: 1 })
// The recovery sweep: HELD seats whose hold has passed.
seatSchema.index({ status: 1, heldUntil: 1 })
seatSchema.index({ bookingId: 1 }, { sparse: true })

export type Seat = InferSchemaType<typeof seatSchema>
export const seatModel = (db: Connection) => db.model('Seat', seatSchema, 'seats')
