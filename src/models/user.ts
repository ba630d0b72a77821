import { Schema, type Connection, type InferSchemaType } from 'mongoose'

export const ROLES = ['USER', 'ADMIN'] as const
export type Role = typeof ROLES[number]

const userSchema = new Schema({
  // Stored lower-cased: emails are case-insensitive (API.md), and the unique index then is too.
  email: { type: String, required: true, unique: true, lowercase: true, trim: true },
  name: { type: String, required: true },
  passwordHash: { type: String, required: true },
  role: { type: String, enum: ROLES, required: true, default: 'USER' }
}, { timestamps: true, strictQuery: true })

export type User = InferSchemaType<typeof userSchema>
export const userModel = (db: Connection) => db.model('User', userSchema, 'users')
