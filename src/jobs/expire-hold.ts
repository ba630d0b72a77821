import { setTimeout as sleep } from 'node:timers/promises'
import { Types } from 'mongoose'
import type { Agenda } from 'agenda'
import type { BookingService } from '../services/booking-service.js'
import { whileLocked } from './keep-locked.js'

export const EXPIRE_HOLD = 'expire-hold'
export interface ExpireHoldData { bookingId: string, expiresAt: string }

/**
 * A job that starts this long after its booking's expiresAt means jobs are queueing behind each
 * other (thousands of holds lapsing together): expiry then catches up in batches. Agenda locks
 * due jobs one query at a time, each a scan of the pending jobs on the embedded database, and
 * runs each with four more round trips, while a batch costs two per booking.
 */
const CATCH_UP_AFTER_MS = 500
/** Batches (of up to the sweep's batch size) one catch-up runs before leaving the rest to the next late job. */
const CATCH_UP_BATCHES = 5

/** Removes the expire-hold jobs of these (settled) bookings that no instance has locked. */
export type DropExpiryJobs = (bookingIds: Types.ObjectId[]) => Promise<void>

/** Fails one PENDING booking at its expiresAt and frees its seats (the protocol's step 3). */
export function defineExpireHold (agenda: Agenda, bookings: BookingService, scanMs: number, dropJobsOf: DropExpiryJobs): void {
  const lockLifetime = 6 * scanMs
  // One catch-up at a time per instance: the late jobs behind the first find their bookings settled.
  let catchingUp = false
  async function catchUp (): Promise<void> {
    for (let batch = 0; batch < CATCH_UP_BATCHES; batch++) {
      const expired = await bookings.expireOverdueHolds()
      if (expired.length === 0) return
      // Their jobs have nothing left to do; removed, they cost no lock scan and no run. One
      // deleteMany per batch instead of five round trips per job.
      await dropJobsOf(expired)
    }
  }
  agenda.define<ExpireHoldData>(EXPIRE_HOLD, async (job) => {
    const { bookingId, expiresAt } = job.attrs.data
    // Under load (thousands of holds lapsing together) the wait plus the expiry can outlast the
    // lock: it is renewed while the job runs rather than cut off with the seats still held.
    await whileLocked(job, lockLifetime / 4, async () => {
      // Agenda may start the job a moment before expiresAt; expiring is conditional on
      // expiresAt <= now, so wait the rest instead of doing nothing and leaving it to the sweep.
      const due = new Date(expiresAt).getTime()
      const early = due - Date.now()
      if (early > 0) await sleep(early + 2)
      await bookings.expireHold(new Types.ObjectId(bookingId))
      if (-early > CATCH_UP_AFTER_MS && !catchingUp) {
        catchingUp = true
        try {
          await catchUp()
        } finally {
          catchingUp = false
        }
      }
    })
    // A short lock (a few scans): jobs are locked up to a scan before they are due, and a dead
    // instance's locks keep others off its holds until they lapse (expiring is conditional, so a
    // rerun is harmless); it must outlast a scan plus the wait above, or Agenda drops the job.
  }, { concurrency: 200, lockLimit: 0, lockLifetime, removeOnComplete: true })
}
