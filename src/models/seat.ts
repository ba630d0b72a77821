import { Schema, type Connection, type Types } from 'mongoose'
import type { Document, Filter } from 'mongodb'

export const SEAT_STATUSES = ['AVAILABLE', 'HELD', 'BOOKED'] as const
export type SeatStatus = typeof SEAT_STATUSES[number]

const seatSchema = new Schema({
  showId: { type: Schema.Types.ObjectId, required: true },
  label: { type: String, required: true },
  row: { type: String, default: null },
  number: { type: Number, required: true },
  // Seat order on the map; labels do not sort naturally (A10 < A2).
  position: { type: Number, required: true },
  // A seat carries its own category and price, so a hold prices itself from the seats it claimed.
  // Seats stored before categories existed have neither: they read as STANDARD at the show's price.
  category: { type: String, default: 'STANDARD' },
  priceCents: { type: Number, default: null },
  status: { type: String, enum: SEAT_STATUSES, required: true, default: 'AVAILABLE' },
  // Who holds or owns the seat; null while AVAILABLE.
  bookingId: { type: Schema.Types.ObjectId, default: null },
  heldUntil: { type: Date, default: null }
}, {
  strictQuery: true,
  versionKey: false
})
seatSchema.index({ showId: 1, label: 1 }, { unique: true })
seatSchema.index({ showId: 1, status: 1 })
seatSchema.index({ showId: 1, position: 1 })
// The recovery sweep: HELD seats whose hold has passed.
seatSchema.index({ status: 1, heldUntil: 1 })
seatSchema.index({ bookingId: 1 }, { sparse: true })
// Where the caller knows the booking's seats (its record lists them), the transitions below also
// filter on those ids: the same seats (a booking's seats are exactly the ones it lists), found by
// `_id` rather than through the sparse `bookingId` index, which the embedded database does not
// use for lookups (every seat carries a bookingId, so without the ids each transition scanned all
// seats: ~0.6 µs a seat, the second-largest database cost of 2,000 holds lapsing together).

export const seatModel = (db: Connection) => db.model('Seat', seatSchema, 'seats')
type SeatModel = ReturnType<typeof seatModel>

// ---- The booking protocol's seat transitions, each conditional on the state it expects (DESIGN.md) ----

/** What a claim learns of the seat it took: enough to price the booking (old seats lack category and price). */
export interface ClaimedSeatFields { label: string, category?: string | null, priceCents?: number | null }

/** Step 1: takes one AVAILABLE seat of the show for the booking; null if it was not free. Through the driver: the hot path. */
export async function claimSeat (Seat: SeatModel, seatId: Types.ObjectId, showId: Types.ObjectId, bookingId: Types.ObjectId, heldUntil: Date): Promise<ClaimedSeatFields | null> {
  return await Seat.collection.findOneAndUpdate(
    { _id: seatId, showId, status: 'AVAILABLE' },
    { $set: { status: 'HELD', bookingId, heldUntil } },
    { returnDocument: 'after', projection: { label: 1, category: 1, priceCents: 1 } }
  ) as ClaimedSeatFields | null
}

/** What a seat going back to AVAILABLE is set to: free, and nobody's. */
const FREED = { status: 'AVAILABLE', bookingId: null, heldUntil: null } as const

/** A conditional change of seats, straight through the driver (the values are typed already); how many changed. */
async function updateSeats (Seat: SeatModel, filter: Filter<Document>, set: Document): Promise<number> {
  return (await Seat.collection.updateMany(filter, { $set: set })).modifiedCount
}

/** Step 6: the booking's HELD seats are held until `until`; first, so a booking never outlives its seats' hold. */
export async function extendHeldSeats (Seat: SeatModel, bookingId: Types.ObjectId, until: Date): Promise<number> {
  // Only ever later: two extensions racing leave the seats held until the later of the two.
  return await updateSeats(Seat, { bookingId, status: 'HELD', heldUntil: { $lt: until } }, { heldUntil: until })
}

/** Seats the booking holds (or only these of them) go back to AVAILABLE; a seat someone else took since is untouched. */
export async function releaseHeldSeats (Seat: SeatModel, bookingId: Types.ObjectId, only?: Types.ObjectId[]): Promise<number> {
  const filter: Record<string, unknown> = { bookingId, status: 'HELD' }
  if (only !== undefined) filter._id = { $in: only }
  return await updateSeats(Seat, filter, FREED)
}

/**
 * releaseHeldSeats for many settled bookings at once: of `seatIds`, those still HELD for one of
 * `bookingIds` go back to AVAILABLE. Only for bookings known FAILED or CANCELLED (final, owning no
 * seat), so which of them a seat is HELD for does not matter; a seat someone else took since is untouched.
 */
export async function releaseSeatsOfSettled (Seat: SeatModel, bookingIds: Types.ObjectId[], seatIds: Types.ObjectId[]): Promise<number> {
  if (bookingIds.length === 0 || seatIds.length === 0) return 0
  return await updateSeats(Seat, { bookingId: { $in: bookingIds }, _id: { $in: seatIds }, status: 'HELD' }, FREED)
}

/** Step 6 refused: seats this extension pushed to `pushed` go back to `to` (the booking's end), unless pushed further since. */
export async function shortenHeldSeats (Seat: SeatModel, bookingId: Types.ObjectId, pushed: Date, to: Date): Promise<number> {
  if (to.getTime() >= pushed.getTime()) return 0
  return await updateSeats(Seat, { bookingId, status: 'HELD', heldUntil: pushed }, { heldUntil: to })
}

/** Step 2: the confirmed booking's HELD seats (or only these of them) become BOOKED. */
export async function bookSeats (Seat: SeatModel, bookingId: Types.ObjectId, only?: Types.ObjectId[]): Promise<number> {
  const filter: Record<string, unknown> = { bookingId, status: 'HELD' }
  if (only !== undefined) filter._id = { $in: only }
  return await updateSeats(Seat, filter, { status: 'BOOKED', heldUntil: null })
}

/** Step 4: a confirmed booking's seats back to HELD until `until`, where the sweep looks if the cancel dies. */
export async function unbookSeats (Seat: SeatModel, bookingId: Types.ObjectId, until: Date): Promise<number> {
  return await updateSeats(Seat, { bookingId, status: 'BOOKED' }, { status: 'HELD', heldUntil: until })
}

/** Step 4: every seat a cancelled booking (or each of several) still owns (or only these of them), HELD or BOOKED, goes back to AVAILABLE. */
export async function freeSeatsOf (Seat: SeatModel, bookingId: Types.ObjectId | Types.ObjectId[], only?: Types.ObjectId[]): Promise<number> {
  const filter: Record<string, unknown> = { bookingId: Array.isArray(bookingId) ? { $in: bookingId } : bookingId, status: { $in: ['HELD', 'BOOKED'] } }
  if (only !== undefined) filter._id = { $in: only }
  return await updateSeats(Seat, filter, FREED)
}

/** Step 3, for a booking that was never written: the seats it still holds past their hold, by show (the caller frees them with settleStaleSeats). */
export async function lapsedSeatsOf (Seat: SeatModel, bookingId: Types.ObjectId, now: Date): Promise<Array<{ _id: Types.ObjectId, showId: Types.ObjectId, heldUntil: Date }>> {
  return await Seat.collection.find<{ _id: Types.ObjectId, showId: Types.ObjectId, heldUntil: Date }>(
    { bookingId, status: 'HELD', heldUntil: { $lt: now } }, { projection: { _id: 1, showId: 1, heldUntil: 1 } }).toArray()
}

/** Step 5: settles stale HELD seats of one booking to `to`; a newer hold (later heldUntil) is never touched. */
export async function settleStaleSeats (Seat: SeatModel, seatIds: Types.ObjectId[], bookingId: Types.ObjectId | null, now: Date, to: 'BOOKED' | 'AVAILABLE'): Promise<number> {
  const filter = { _id: { $in: seatIds }, bookingId, status: 'HELD' as const, heldUntil: { $lt: now } }
  const set = to === 'BOOKED' ? { status: to, heldUntil: null } : FREED
  return await updateSeats(Seat, filter, set)
}
