import type { Types } from 'mongoose'
import type { Models } from '../src/models/index.js'

/**
 * Checks the promise on the data itself, at a quiet moment (no request in flight):
 * no seat in two live bookings, and every seat's status agrees with its booking.
 * Returns the problems found (empty = all good).
 */
export async function auditSeats (models: Models, showId?: string): Promise<string[]> {
  const where = showId === undefined ? {} : { showId }
  const [seats, bookings] = await Promise.all([
    models.Seat.find(where).lean<Array<{ _id: Types.ObjectId, label: string, status: string, bookingId: Types.ObjectId | null }>>(),
    models.Booking.find(where).lean<Array<{ _id: Types.ObjectId, status: string, seats: Array<{ id: Types.ObjectId }> }>>()
  ])
  const problems: string[] = []
  const liveOwners = new Map<string, string[]>()
  const statusOf = new Map(bookings.map((b) => [b._id.toHexString(), b.status]))
  for (const b of bookings) {
    if (b.status !== 'PENDING' && b.status !== 'CONFIRMED') continue
    for (const s of b.seats) {
      const owners = liveOwners.get(s.id.toHexString()) ?? []
      owners.push(b._id.toHexString())
      liveOwners.set(s.id.toHexString(), owners)
    }
  }
  for (const seat of seats) {
    const id = seat._id.toHexString()
    const owners = liveOwners.get(id) ?? []
    if (owners.length > 1) problems.push(`seat ${seat.label} is in ${owners.length} live bookings`)
    const owner = seat.bookingId?.toHexString()
    const ownerStatus = owner === undefined ? undefined : statusOf.get(owner)
    if (seat.status === 'AVAILABLE' && owners.length > 0) problems.push(`seat ${seat.label} is AVAILABLE but booking ${owners[0]} is live`)
    if (seat.status === 'HELD' && (ownerStatus !== 'PENDING' || !owners.includes(owner ?? ''))) problems.push(`seat ${seat.label} is HELD by a ${ownerStatus ?? 'missing'} booking`)
    if (seat.status === 'BOOKED' && (ownerStatus !== 'CONFIRMED' || !owners.includes(owner ?? ''))) problems.push(`seat ${seat.label} is BOOKED by a ${ownerStatus ?? 'missing'} booking`)
  }
  return problems
}
