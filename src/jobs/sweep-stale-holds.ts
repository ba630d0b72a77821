import type { Agenda } from 'agenda'
import type { BookingService } from '../services/booking-service.js'

export const SWEEP_STALE_HOLDS = 'sweep-stale-holds'

/** The recovery sweep (the protocol's step 5): settles what lost jobs and crashed instances left. */
export function defineSweepStaleHolds (agenda: Agenda, bookings: BookingService): void {
  agenda.define(SWEEP_STALE_HOLDS, async () => {
    await bookings.sweepStaleHolds()
  }, { concurrency: 1, lockLifetime: 60_000 })
}

/** One recurring job for all instances: Agenda keeps a single document per `every` name. */
export async function scheduleSweep (agenda: Agenda, everyMs: number): Promise<void> {
  await agenda.every(everyMs, SWEEP_STALE_HOLDS)
}
