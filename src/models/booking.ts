import { Schema, type Connection, type InferRawDocTypeFromSchema, type Types } from 'mongoose'
import type { Document, Filter, UpdateFilter } from 'mongodb'
import { isDuplicateKey } from '../services/mongo-errors.js'

export const BOOKING_STATUSES = ['PENDING', 'CONFIRMED', 'FAILED', 'CANCELLED'] as const
export type BookingStatus = typeof BOOKING_STATUSES[number]

const bookingSchema = new Schema({
  showId: { type: Schema.Types.ObjectId, required: true },
  userId: { type: Schema.Types.ObjectId, required: true },
  // Seats in claim order, with their labels so a booking reads without a join.
  seats: {
    // category and priceCents as claimed (bookings made before categories have neither).
    type: [{ _id: false, id: { type: Schema.Types.ObjectId, required: true }, label: { type: String, required: true }, category: { type: String }, priceCents: { type: Number } }],
    required: true
  },
  status: { type: String, enum: BOOKING_STATUSES, required: true, default: 'PENDING' },
  totalPriceCents: { type: Number, required: true },
  expiresAt: { type: Date, required: true },
  // How many times the hold was extended (step 6); bookings made before extension have none (0).
  extensions: { type: Number, default: 0 },
  confirmedAt: { type: Date, default: null },
  cancelledAt: { type: Date, default: null },
  // A cancel, written CANCELLED, has yet to free the booking's seats (unset once it has): while
  // set, the overdue pass and the sweep free them too (its canceller may have died). Absent on
  // every other booking.
  releasePending: { type: Boolean },
  failureReason: { type: String, default: null },
  paymentReference: { type: String, default: null }
}, {
  timestamps: true,
  strictQuery: true,
  versionKey: false
})
// The expiry sweep: PENDING bookings past expiresAt.
bookingSchema.index({ status: 1, expiresAt: 1 })
// The sweep's look for cancellations whose canceller died before freeing their seats (sparse: only those).
bookingSchema.index({ releasePending: 1 }, { sparse: true })
bookingSchema.index({ userId: 1, createdAt: -1 })
bookingSchema.index({ showId: 1, status: 1, createdAt: -1 })

/** A booking as stored. */
export type BookingRecord = InferRawDocTypeFromSchema<typeof bookingSchema> & { _id: Types.ObjectId, createdAt: Date, updatedAt: Date }
export const bookingModel = (db: Connection) => db.model('Booking', bookingSchema, 'bookings')
type BookingModel = ReturnType<typeof bookingModel>

// ---- The booking protocol's booking transitions, each decided on this one document (DESIGN.md) ----

/** Step 1: the booking of seats already held, as the schema would write it, without a mongoose document round. */
/**
 * Fences an abandoned hold attempt (an Idempotency-Key taken over): a FAILED booking with the
 * attempt's id and no seats, so the attempt's own insert, if still in flight, fails on the
 * duplicate id instead of landing as a live booking whose seats were given back. False if a
 * booking with that id already exists (the attempt's insert landed first).
 */
export async function fenceAbandonedBooking (Booking: BookingModel, fields: Pick<BookingRecord, '_id' | 'showId' | 'userId'>): Promise<boolean> {
  const now = new Date()
  const doc: BookingRecord = {
    ...fields,
    seats: [],
    totalPriceCents: 0,
    expiresAt: now,
    status: 'FAILED',
    extensions: 0,
    confirmedAt: null,
    cancelledAt: null,
    failureReason: 'ABANDONED',
    paymentReference: null,
    createdAt: now,
    updatedAt: now
  }
  try {
    await Booking.collection.insertOne(doc)
    return true
  } catch (error) {
    if (isDuplicateKey(error)) return false
    throw error
  }
}

export async function insertPendingBooking (Booking: BookingModel, fields: Pick<BookingRecord, '_id' | 'showId' | 'userId' | 'seats' | 'totalPriceCents' | 'expiresAt'>): Promise<BookingRecord> {
  const now = new Date()
  const doc: BookingRecord = {
    ...fields,
    status: 'PENDING',
    extensions: 0,
    confirmedAt: null,
    cancelledAt: null,
    failureReason: null,
    paymentReference: null,
    createdAt: now,
    updatedAt: now
  }
  await Booking.collection.insertOne(doc)
  return doc
}

/**
 * One booking's transition, conditional on `filter`: the document after it, or null if the filter
 * matched nothing. Straight through the driver (these run on every confirm, expiry and cancel):
 * the values are typed already, and `updatedAt` is set here as the schema's timestamps would.
 */
async function transition (Booking: BookingModel, filter: Filter<BookingRecord>, update: UpdateFilter<BookingRecord>): Promise<BookingRecord | null> {
  return await Booking.collection.findOneAndUpdate(filter as Filter<Document>, update as UpdateFilter<Document>, { returnDocument: 'after' }) as BookingRecord | null
}

/** Step 2: PENDING → CONFIRMED while the hold lasts; null if not (expiry won, or it is settled). */
export async function confirmBookingIfLive (Booking: BookingModel, bookingId: Types.ObjectId, now: Date, paymentReference: string | null): Promise<BookingRecord | null> {
  return await transition(Booking,
    { _id: bookingId, status: 'PENDING', expiresAt: { $gt: now } },
    { $set: { status: 'CONFIRMED', confirmedAt: now, paymentReference, updatedAt: now } }
  )
}

/**
 * Step 6: a live PENDING booking's hold runs until `until`, once more than before; null if it is
 * no longer PENDING, its hold has passed (expiry owns it) or it was extended `max` times.
 * `$not $gte` rather than `$lt`: a booking stored before extensions existed has no count, and is at 0.
 */
export async function extendBookingIfLive (Booking: BookingModel, bookingId: Types.ObjectId, now: Date, until: Date, max: number): Promise<BookingRecord | null> {
  return await transition(Booking,
    { _id: bookingId, status: 'PENDING', expiresAt: { $gt: now }, extensions: { $not: { $gte: max } } },
    // $max: of two extensions racing, the later end stands whichever lands last (the seats' push is only-later too).
    { $max: { expiresAt: until }, $inc: { extensions: 1 }, $set: { updatedAt: now } }
  )
}

/** Step 3: PENDING → FAILED once the hold has passed; null if not due (confirm won, or it is settled). */
export async function expireBookingIfDue (Booking: BookingModel, bookingId: Types.ObjectId, now: Date): Promise<BookingRecord | null> {
  return await transition(Booking,
    { _id: bookingId, status: 'PENDING', expiresAt: { $lte: now } },
    { $set: { status: 'FAILED', failureReason: 'EXPIRED', updatedAt: new Date() } }
  )
}

/**
 * Step 3 for many bookings in one round trip: each of `bookingIds` still PENDING with expiresAt <= now
 * becomes FAILED, exactly as expireBookingIfDue would make it. One updateMany: each document's
 * update is atomic and checks its own status and expiresAt, so a confirm that won first leaves its
 * booking CONFIRMED and untouched, and of two expirers only one changes a booking. How many changed.
 */
export async function expireBookingsIfDue (Booking: BookingModel, bookingIds: Types.ObjectId[], now: Date): Promise<number> {
  if (bookingIds.length === 0) return 0
  return (await Booking.collection.updateMany(
    { _id: { $in: bookingIds }, status: 'PENDING', expiresAt: { $lte: now } },
    { $set: { status: 'FAILED', failureReason: 'EXPIRED', updatedAt: new Date() } }
  )).modifiedCount
}

/** Step 4: `from` → CANCELLED; null if the booking left `from` meanwhile. */
export async function cancelBookingFrom (Booking: BookingModel, bookingId: Types.ObjectId, from: BookingStatus): Promise<BookingRecord | null> {
  const now = new Date()
  return await transition(Booking,
    { _id: bookingId, status: from },
    // Until the canceller frees the seats and clears this flag, the overdue pass and the sweep free
    // them (see freeSeatsOfPendingReleases): a confirmed booking's seats may be BOOKED, where no
    // other recovery step looks, and a PENDING one's HELD seats would otherwise stay held by a
    // CANCELLED booking until their hold's end (up to the show's hold time).
    { $set: { status: 'CANCELLED', cancelledAt: now, updatedAt: now, releasePending: true } }
  )
}
