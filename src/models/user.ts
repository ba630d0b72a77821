import { Schema, type Connection, type InferSchemaType } from 'mongoose'

export const ROLES = ['USER', 'ADMIN'] as const
export type Role = typeof ROLES[number]

const userSchema = new Schema({
  // Stored lower-cased: emails are case-insensitive (API.md), and the unique index then is too.
  email: { type: String, required: true, unique: true, lowercase: true, trim: true },
  name: { type: String, required: true },
  passwordHash: { type: String, required: true },
  role: { type: String, enum: ROLES, required: true, default: 'USER' },
  // A disabled account can neither sign in nor act; its sign-ins are ended when it is disabled.
  // Accounts stored before this field existed have none: read as enabled ({ $ne: true }).
  disabled: { type: Boolean, default: false }
}, { timestamps: true, strictQuery: true })
// The admin list filters by role and disabled, and the last-admin rule counts enabled admins.
userSchema.index({ role: 1, disabled: 1 })

export type User = InferSchemaType<typeof userSchema>
export const userModel = (db: Connection) => db.model('User', userSchema, 'users')
