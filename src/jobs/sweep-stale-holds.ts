import type { Agenda } from 'agenda'
import type { BookingService } from '../services/booking-service.js'
import { whileLocked } from './keep-locked.js'

const SWEEP_STALE_HOLDS = 'sweep-stale-holds'

/**
 * The recovery sweep (the protocol's step 5): settles what lost jobs and crashed instances left.
 * Its lock is short: Agenda locks a job up to one scan ahead of its run, and if the instance
 * holding that lock dies, no other instance may take the job until the lock lapses — with a long
 * lock, the very crash the sweep exists for would stall it. It must still outlast the scan
 * interval, or Agenda drops the queued job as "expired" before its timer fires. The sweep is
 * idempotent, so a slow sweep overlapping the next one on another instance is harmless; a long
 * one renews its lock while it works (whileLocked).
 */
export function defineSweepStaleHolds (agenda: Agenda, bookings: BookingService, scanMs: number): void {
  const lockLifetime = 4 * scanMs
  agenda.define(SWEEP_STALE_HOLDS, async (job) => {
    // A big sale can leave thousands to settle: the lock is renewed while the sweep works (it
    // works in batches, so a crash mid-way loses at most a batch's progress).
    await whileLocked(job, lockLifetime / 4, async () => await bookings.sweepStaleHolds())
  }, { concurrency: 1, lockLifetime })
}

/** One recurring job for all instances: Agenda keeps a single document per `every` name. */
export async function scheduleSweep (agenda: Agenda, everyMs: number): Promise<void> {
  await agenda.every(everyMs, SWEEP_STALE_HOLDS)
}
