import { Schema, type Connection, type InferRawDocTypeFromSchema, type Types } from 'mongoose'

export const SHOW_TYPES = ['MOVIE', 'BUS', 'DOCTOR', 'EVENT'] as const
export const SHOW_STATUSES = ['SCHEDULED', 'CANCELLED'] as const

const showSchema = new Schema({
  name: { type: String, required: true },
  type: { type: String, enum: SHOW_TYPES, required: true },
  // Optional: an appointment slot or a bus trip may have none.
  venue: { type: String, default: null },
  startTime: { type: Date, required: true },
  description: { type: String, default: null },
  movieId: { type: Schema.Types.ObjectId, default: null },
  durationMinutes: { type: Number, default: null },
  holdSeconds: { type: Number, required: true },
  priceCents: { type: Number, required: true, default: 0 },
  status: { type: String, enum: SHOW_STATUSES, required: true, default: 'SCHEDULED' },
  totalSeats: { type: Number, required: true },
  // Rows in the order best-available tries them (generated seating); rows not listed follow in seat order.
  rowPreference: { type: [String], default: undefined },
  // The show's categories as sold: those the admin named, then STANDARD if any seat is in none.
  // Shows stored before categories have none: all their seats are STANDARD at priceCents.
  categories: { type: [{ _id: false, name: { type: String, required: true }, priceCents: { type: Number, required: true } }], default: undefined },
  // Set with CANCELLED, cleared once every live booking of the show is cancelled: a cancel cut
  // short mid-way is finished by the sweep (finishShowCancels).
  cancelPending: { type: Boolean }
}, { timestamps: true, strictQuery: true })
// The public catalogue: scheduled shows that have not started, soonest first.
showSchema.index({ status: 1, startTime: 1 })
showSchema.index({ createdAt: -1 })
showSchema.index({ cancelPending: 1 }, { sparse: true })

/** A show as stored. */
export type ShowRecord = InferRawDocTypeFromSchema<typeof showSchema> & { _id: Types.ObjectId, createdAt: Date, updatedAt: Date }
export const showModel = (db: Connection) => db.model('Show', showSchema, 'shows')

/** The category of every seat no category names, at the show's own price. */
export const STANDARD_CATEGORY = 'STANDARD'

/** A show's categories as sold; a show stored before categories existed sells all its seats as STANDARD. */
export function categoriesOf (show: { categories?: Array<{ name: string, priceCents: number }> | null, priceCents: number }): Array<{ name: string, priceCents: number }> {
  return show.categories ?? [{ name: STANDARD_CATEGORY, priceCents: show.priceCents }]
}
