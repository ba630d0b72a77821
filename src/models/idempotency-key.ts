import { Schema, type Connection } from 'mongoose'

const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60

// One document per (user, Idempotency-Key): the request's hash and, once answered,
// the answer itself, replayed to repeats. Kept for 24 h by a TTL index.
const idempotencyKeySchema = new Schema({
  userId: { type: Schema.Types.ObjectId, required: true },
  key: { type: String, required: true },
  requestHash: { type: String, required: true },
  // IN_PROGRESS: an attempt is running; DONE: answered (statusCode, response); RETRY: the attempt
  // ended without an answer (a 5xx), so the next repeat settles it.
  state: { type: String, enum: ['IN_PROGRESS', 'DONE', 'RETRY'], required: true },
  // The current attempt's id, fixed before it starts (a hold uses it as its booking id), so a
  // repeat can tell whether an attempt that gave no answer made its result after all.
  attemptId: { type: Schema.Types.ObjectId, required: true },
  // The same, as written before it was renamed (keys live 24 h): read while such keys may exist.
  bookingId: { type: Schema.Types.ObjectId, default: undefined },
  statusCode: { type: Number, default: null },
  response: { type: Schema.Types.Mixed, default: null },
  createdAt: { type: Date, required: true }
}, { strictQuery: true, versionKey: false, minimize: false })
idempotencyKeySchema.index({ userId: 1, key: 1 }, { unique: true })
idempotencyKeySchema.index({ createdAt: 1 }, { expireAfterSeconds: IDEMPOTENCY_TTL_SECONDS })

export const idempotencyKeyModel = (db: Connection) => db.model('IdempotencyKey', idempotencyKeySchema, 'idempotency_keys')
