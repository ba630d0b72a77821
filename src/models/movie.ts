import { Schema, type Connection, type InferSchemaType } from 'mongoose'

const movieSchema = new Schema({
  title: { type: String, required: true },
  description: { type: String, default: null },
  durationMinutes: { type: Number, default: null }
}, { timestamps: true, strictQuery: true })
movieSchema.index({ createdAt: -1 })

export type Movie = InferSchemaType<typeof movieSchema>
export const movieModel = (db: Connection) => db.model('Movie', movieSchema, 'movies')
