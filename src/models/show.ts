import { Schema, type Connection, type InferRawDocTypeFromSchema, type Types } from 'mongoose'

export const SHOW_TYPES = ['MOVIE', 'BUS', 'DOCTOR', 'EVENT'] as const
export const SHOW_STATUSES = ['SCHEDULED', 'CANCELLED'] as const

const showSchema = new Schema({
  name: { type: String, required: true },
  type: { type: String, enum: SHOW_TYPES, required: true },
  venue: { type: String, required: true },
  startTime: { type: Date, required: true },
  description: { type: String, default: null },
  movieId: { type: Schema.Types.ObjectId, default: null },
  durationMinutes: { type: Number, default: null },
  holdSeconds: { type: Number, required: true },
  priceCents: { type: Number, required: true, default: 0 },
  status: { type: String, enum: SHOW_STATUSES, required: true, default: 'SCHEDULED' },
  totalSeats: { type: Number, required: true }
}, { timestamps: true, strictQuery: true })
// The public catalogue: scheduled shows that have not started, soonest first.
showSchema.index({ status: 1, startTime: 1 })
showSchema.index({ createdAt: -1 })

/** A show as stored. */
export type ShowRecord = InferRawDocTypeFromSchema<typeof showSchema> & { _id: Types.ObjectId, createdAt: Date, updatedAt: Date }
export const showModel = (db: Connection) => db.model('Show', showSchema, 'shows')
