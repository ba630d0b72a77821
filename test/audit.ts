import mongoose, { type Types } from 'mongoose'
import { createModels, type Models } from '../src/models/index.js'
import { audit, type AuditMoment } from '../scripts/bench/audit.js'

/**
 * The seat audit (scripts/bench/audit.ts) on an app's database, by default at a quiet moment
 * (no request in flight): no seat in two live bookings, and every seat's status agrees with its
 * booking. Returns the problems found (empty = all good).
 */
export async function auditSeats (models: Models, showId?: string, moment: AuditMoment = 'quiet'): Promise<string[]> {
  const where = showId === undefined ? {} : { showId }
  const [seats, bookings] = await Promise.all([
    models.Seat.find(where).lean<Array<{ _id: Types.ObjectId, label: string, status: string, bookingId: Types.ObjectId | null }>>(),
    models.Booking.find(where).lean<Array<{ _id: Types.ObjectId, status: string, seats: Array<{ id: Types.ObjectId }>, expiresAt: Date }>>()
  ])
  return audit(
    seats.map((s) => ({ id: s._id.toHexString(), label: s.label, status: s.status, bookingId: s.bookingId?.toHexString() ?? null })),
    bookings.map((b) => ({ id: b._id.toHexString(), status: b.status, seatIds: b.seats.map((s) => s.id.toHexString()), expiresAt: b.expiresAt.getTime() })),
    moment
  ).problems
}

/**
 * The same audit on the database at `uri` (the one real instances share in the fault tests:
 * the URI's own database, as the instances' mongoose picks it, unless `dbName` says otherwise).
 * Reads only: no index builds, no collections created.
 */
export async function auditDatabase (uri: string, showId: string, moment: AuditMoment = 'quiet', dbName?: string): Promise<string[]> {
  const connection = await mongoose.createConnection(uri, { dbName, autoIndex: false, autoCreate: false }).asPromise()
  try {
    return await auditSeats(createModels(connection), showId, moment)
  } finally {
    await connection.close()
  }
}
