// The database audit of the flash sale: oversold seats and stuck seats, from the seats and
// bookings of one show (read from MongoDB, or from the API when only --url is given).

export interface AuditSeat { id: string, status: string, bookingId?: string | null, heldUntil?: number | null }
export interface AuditBooking { id: string, status: string, seatIds: string[], expiresAt: number }
export interface AuditResult { oversold: number, stuckSeats: number, doubleBooked: number, disagreeing: number, seats: number, bookings: number }

const LIVE = new Set(['PENDING', 'CONFIRMED'])

/**
 * `settled`: no request is running and every hold has lapsed, so each seat must agree with its
 * booking exactly. Otherwise (load may still be settling) only the invariants that hold at
 * every instant are checked: no seat in two live bookings, a BOOKED seat's booking CONFIRMED.
 */
export function audit (seats: AuditSeat[], bookings: AuditBooking[], settled: boolean, now = Date.now()): AuditResult {
  const byId = new Map(bookings.map((b) => [b.id, b]))
  const owners = new Map<string, AuditBooking[]>()
  for (const b of bookings) {
    // A PENDING booking past expiresAt may be read before its expiry lands: not live for this check.
    if (!LIVE.has(b.status) || (b.status === 'PENDING' && !settled && b.expiresAt <= now)) continue
    for (const s of b.seatIds) owners.set(s, [...(owners.get(s) ?? []), b])
  }
  const oversold = new Set<string>()
  let doubleBooked = 0
  let disagreeing = 0
  let stuck = 0
  for (const seat of seats) {
    const live = owners.get(seat.id) ?? []
    if (live.length > 1) {
      doubleBooked++
      oversold.add(seat.id)
      continue
    }
    // The owner: the seat's own bookingId when known (database audit), else its one live booking.
    const owner = seat.bookingId !== undefined ? (seat.bookingId === null ? undefined : byId.get(seat.bookingId)) : live[0]
    const owns = owner?.seatIds.includes(seat.id) === true
    let agrees = true
    if (seat.status === 'BOOKED') agrees = owner?.status === 'CONFIRMED' && owns
    else if (settled && seat.status === 'HELD') {
      // A HELD seat after every hold lapsed: no live PENDING booking holds it, so it is stuck.
      if (!(owner?.status === 'PENDING' && owns && owner.expiresAt > now)) stuck++
      if (owner?.status === 'CONFIRMED') agrees = false
    } else if (settled && seat.status === 'AVAILABLE') agrees = live.length === 0
    if (settled && live.length === 1 && live[0].status === 'CONFIRMED' && seat.status !== 'BOOKED') agrees = false
    if (!agrees) {
      disagreeing++
      oversold.add(seat.id)
    }
  }
  return { oversold: oversold.size, stuckSeats: stuck, doubleBooked, disagreeing, seats: seats.length, bookings: bookings.length }
}
