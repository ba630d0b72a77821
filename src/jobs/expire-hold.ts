import { setTimeout as sleep } from 'node:timers/promises'
import { Types } from 'mongoose'
import type { Agenda } from 'agenda'
import type { BookingService } from '../services/booking-service.js'
import { whileLocked } from './keep-locked.js'

export const EXPIRE_HOLD = 'expire-hold'
export interface ExpireHoldData { bookingId: string, expiresAt: string }

/** Fails one PENDING booking at its expiresAt and frees its seats (the protocol's step 3). */
export function defineExpireHold (agenda: Agenda, bookings: BookingService, scanMs: number): void {
  const lockLifetime = 6 * scanMs
  agenda.define<ExpireHoldData>(EXPIRE_HOLD, async (job) => {
    const { bookingId, expiresAt } = job.attrs.data
    // Under load (thousands of holds lapsing together) the wait plus the expiry can outlast the
    // lock: it is renewed while the job runs rather than cut off with the seats still held.
    await whileLocked(job, lockLifetime / 4, async () => {
      // Agenda may start the job a moment before expiresAt; expiring is conditional on
      // expiresAt <= now, so wait the rest instead of doing nothing and leaving it to the sweep.
      const early = new Date(expiresAt).getTime() - Date.now()
      if (early > 0) await sleep(early + 2)
      // Also when the booking was never written (its hold died after scheduling this): then its lapsed seats go back.
      await bookings.expireHoldJob(new Types.ObjectId(bookingId))
    })
    // A short lock (a few scans): jobs are locked up to a scan before they are due, and a dead
    // instance's locks keep others off its holds until they lapse (expiring is conditional, so a
    // rerun is harmless); it must outlast a scan plus the wait above, or Agenda drops the job.
  }, { concurrency: 200, lockLimit: 0, lockLifetime, removeOnComplete: true })
}
