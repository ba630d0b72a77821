import { Schema, type Connection, type InferSchemaType } from 'mongoose'

// One document per refresh token ever issued, until it expires. Only the SHA-256 of the token
// is stored: the token is 256 random bits, so a fast hash is enough (nothing to brute-force),
// and a leaked collection signs nobody in. Every token of one sign-in shares `familyId`, so
// logout, disabling, or the reuse of a spent token can end the whole sign-in at once.
const refreshTokenSchema = new Schema({
  hash: { type: String, required: true },
  userId: { type: Schema.Types.ObjectId, required: true },
  familyId: { type: Schema.Types.ObjectId, required: true },
  expiresAt: { type: Date, required: true },
  // Set when the token is exchanged for the next one (single use).
  usedAt: { type: Date, default: null },
  // Set when its sign-in is ended (logout, reuse detected, account disabled).
  revokedAt: { type: Date, default: null },
  createdAt: { type: Date, required: true }
}, { strictQuery: true, versionKey: false })
refreshTokenSchema.index({ hash: 1 }, { unique: true })
refreshTokenSchema.index({ familyId: 1 })
refreshTokenSchema.index({ userId: 1 })
// The database deletes expired tokens by itself (within a minute or so on mongod), and every
// instance agrees on what is valid. Reads still check expiresAt: the TTL monitor is not instant.
refreshTokenSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 })

export type RefreshToken = InferSchemaType<typeof refreshTokenSchema>
export const refreshTokenModel = (db: Connection) => db.model('RefreshToken', refreshTokenSchema, 'refresh_tokens')
