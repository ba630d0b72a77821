import { Schema, type Connection, type InferRawDocTypeFromSchema, type Types } from 'mongoose'

const movieSchema = new Schema({
  title: { type: String, required: true },
  description: { type: String, default: null },
  durationMinutes: { type: Number, default: null }
}, { timestamps: true, strictQuery: true })
movieSchema.index({ createdAt: -1 })

/** A movie as stored. */
export type MovieRecord = InferRawDocTypeFromSchema<typeof movieSchema> & { _id: Types.ObjectId, createdAt: Date, updatedAt: Date }
export const movieModel = (db: Connection) => db.model('Movie', movieSchema, 'movies')
