import { setTimeout as sleep } from 'node:timers/promises'
import { Types } from 'mongoose'
import type { Agenda } from 'agenda'
import type { BookingService } from '../services/booking-service.js'

export const EXPIRE_HOLD = 'expire-hold'
export interface ExpireHoldData { bookingId: string, expiresAt: string }

/** Fails one PENDING booking at its expiresAt and frees its seats (the protocol's step 3). */
export function defineExpireHold (agenda: Agenda, bookings: BookingService): void {
  agenda.define<ExpireHoldData>(EXPIRE_HOLD, async (job) => {
    const { bookingId, expiresAt } = job.attrs.data
    // Agenda may start the job a moment before expiresAt; expiring is conditional on
    // expiresAt <= now, so wait the rest instead of doing nothing and leaving it to the sweep.
    const early = new Date(expiresAt).getTime() - Date.now()
    if (early > 0) await sleep(early + 2)
    await bookings.expireHold(new Types.ObjectId(bookingId))
  }, { concurrency: 200, lockLimit: 0, lockLifetime: 30_000, removeOnComplete: true })
}
