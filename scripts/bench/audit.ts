// The one seat audit: the booking promise checked on the data itself (seats and bookings of a
// show, read from MongoDB, or from the API when only the seat map is at hand). Used by the
// benchmark, the protocol tests, the fuzz test and the fault tests (test/audit.ts reads a database into it).

export interface AuditSeat { id: string, label?: string, status: string, bookingId?: string | null, heldUntil?: number | null }
export interface AuditBooking { id: string, status: string, seatIds: string[], expiresAt: number }
export interface AuditResult {
  oversold: number
  stuckSeats: number
  doubleBooked: number
  disagreeing: number
  seats: number
  bookings: number
  /** One line per seat that breaks the promise (empty: all good). */
  problems: string[]
}

/**
 * When the audit runs, which says what must already hold:
 * - `running`: load may still be settling; only what holds at every instant (no seat in two
 *   live bookings, a BOOKED seat's booking CONFIRMED).
 * - `quiet`: no request in flight; every seat agrees with its booking (holds may still run).
 * - `lapsed`: quiet, and every hold has lapsed too: a HELD seat without a live hold is stuck.
 */
export type AuditMoment = 'running' | 'quiet' | 'lapsed'

const LIVE = new Set(['PENDING', 'CONFIRMED'])

export function audit (seats: AuditSeat[], bookings: AuditBooking[], moment: AuditMoment, now = Date.now()): AuditResult {
  const byId = new Map(bookings.map((b) => [b.id, b]))
  const owners = new Map<string, AuditBooking[]>()
  for (const b of bookings) {
    // A PENDING booking past expiresAt may be read before its expiry lands: not live while running.
    if (!LIVE.has(b.status) || (b.status === 'PENDING' && moment === 'running' && b.expiresAt <= now)) continue
    for (const s of b.seatIds) owners.set(s, [...(owners.get(s) ?? []), b])
  }
  const oversold = new Set<string>()
  const problems: string[] = []
  let doubleBooked = 0
  let disagreeing = 0
  let stuck = 0
  for (const seat of seats) {
    const name = seat.label ?? seat.id
    const live = owners.get(seat.id) ?? []
    if (live.length > 1) {
      doubleBooked++
      oversold.add(seat.id)
      problems.push(`seat ${name} is in ${live.length} live bookings`)
      continue
    }
    // The owner: the seat's own bookingId when known (database audit), else its one live booking.
    const owner = seat.bookingId !== undefined ? (seat.bookingId === null ? undefined : byId.get(seat.bookingId)) : live[0]
    const owns = owner?.seatIds.includes(seat.id) === true
    const ownerStatus = owner?.status ?? 'missing'
    let disagreement: string | undefined
    if (seat.status === 'BOOKED') {
      if (!(owner?.status === 'CONFIRMED' && owns)) disagreement = `seat ${name} is BOOKED by a ${ownerStatus} booking`
    } else if (moment !== 'running' && seat.status === 'HELD') {
      if (moment === 'lapsed' && !(owner?.status === 'PENDING' && owns && owner.expiresAt > now)) {
        stuck++
        problems.push(`seat ${name} is stuck HELD (its booking is ${ownerStatus})`)
      }
      if (owner?.status === 'CONFIRMED' || (moment === 'quiet' && !(owner?.status === 'PENDING' && owns))) {
        disagreement = `seat ${name} is HELD by a ${ownerStatus} booking`
      }
    } else if (moment !== 'running' && seat.status === 'AVAILABLE' && live.length > 0) {
      disagreement = `seat ${name} is AVAILABLE but booking ${live[0].id} is live`
    }
    if (disagreement === undefined && moment !== 'running' && live.length === 1 && live[0].status === 'CONFIRMED' && seat.status !== 'BOOKED') {
      disagreement = `seat ${name} is ${seat.status} but its booking ${live[0].id} is CONFIRMED`
    }
    if (disagreement !== undefined) {
      disagreeing++
      oversold.add(seat.id)
      problems.push(disagreement)
    }
  }
  return { oversold: oversold.size, stuckSeats: stuck, doubleBooked, disagreeing, seats: seats.length, bookings: bookings.length, problems }
}
