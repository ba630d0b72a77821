import { setTimeout as sleep } from 'node:timers/promises'
import { Types } from 'mongoose'
import type { Agenda, Job } from 'agenda'
import type { FastifyBaseLogger } from 'fastify'
import type { BookingService } from '../services/booking-service.js'
import { whileLocked } from './keep-locked.js'

export const EXPIRE_HOLD = 'expire-hold'
export interface ExpireHoldData { bookingId: string, expiresAt: string }

/**
 * Expiry jobs are spread over EXPIRE_HOLD_SHARDS names (`expire-hold:0` …). Agenda finds each due
 * job with one query on its name (`findOneAndUpdate` sorted by nextRunAt), and runs none of the
 * jobs it locks while that search goes on. On the embedded database, whose indexes answer
 * equality and not ranges, each such query reads every pending job of the name: with 2,000 holds
 * lapsing together, locking them one by one took longer than they took to come due, their locks
 * lapsed while they waited (3 s) and were taken again, and nothing expired for 15 s. Spread over
 * eight names, each query reads an eighth, and the eight names are searched side by side.
 * `expire-hold` itself stays defined: jobs stored before the split still run.
 */
export const EXPIRE_HOLD_SHARDS = 8
export const EXPIRE_HOLD_NAMES = [EXPIRE_HOLD, ...Array.from({ length: EXPIRE_HOLD_SHARDS }, (_, k) => `${EXPIRE_HOLD}:${k}`)]
/**
 * The job name of a booking's expiry: a mixed hash of its id's bytes. Not the last byte alone: a
 * hold makes about two ObjectIds, so its counter steps by two and only even shards were used.
 */
export function expireHoldJobName (bookingId: Types.ObjectId): string {
  let h = 0
  for (const byte of bookingId.id) h = Math.imul(h ^ byte, 0x45d9f3b)
  h ^= h >>> 16
  return `${EXPIRE_HOLD}:${(h >>> 0) % EXPIRE_HOLD_SHARDS}`
}
/** Jobs of one name running at once: together they stay at the 200 one name had. */
const CONCURRENCY_PER_NAME = 200 / EXPIRE_HOLD_SHARDS

/**
 * A job that starts this long after its booking's expiresAt means jobs are queueing behind each
 * other (thousands of holds lapsing together): expiry then catches up in bulk. Each job costs
 * Agenda four round trips (lock, start, end, removal) and its expiry two more, all on the
 * service's event loop; a bulk pass expires up to 200 bookings in four (expireOverdueHoldsInBulk),
 * removes their jobs that no instance has locked yet in one more, and the locked ones, run later,
 * skip their expiry. 100 ms: a backlog is seen soon after it starts (500 ms let one grow for half
 * a second before the catch-up began), while jobs that run
 * on time (late by a timer's and a busy event loop's delay) still expire their own booking alone.
 */
const CATCH_UP_AFTER_MS = 100
/**
 * Bulk passes one catch-up runs at most: it follows a backlog while its passes find overdue
 * bookings (each pass takes those due at its start, never one before its expiresAt) and ends at
 * the first that finds none; the next late job starts another.
 */
const CATCH_UP_BATCHES = 50

/** Removes the expire-hold jobs of these (settled) bookings that no instance has locked. */
export type DropExpiryJobs = (bookingIds: Types.ObjectId[]) => Promise<void>

/** Fails one PENDING booking at its expiresAt and frees its seats (the protocol's step 3). */
export function defineExpireHold (agenda: Agenda, bookings: BookingService, scanMs: number, dropJobsOf: DropExpiryJobs, log: FastifyBaseLogger): void {
  const lockLifetime = 20 * scanMs
  // One catch-up at a time per instance: the late jobs behind the first find their bookings settled.
  let catchingUp = false
  async function catchUp (): Promise<void> {
    for (let batch = 0; batch < CATCH_UP_BATCHES; batch++) {
      const expired = await bookings.expireOverdueHoldsInBulk()
      if (expired.length === 0) return
      // Their jobs have nothing left to do; removed, they cost no lock scan and no run. One
      // deleteMany per batch instead of six round trips per job.
      await dropJobsOf(expired)
    }
  }
  const expire = async (job: Job<ExpireHoldData>): Promise<void> => {
    const { bookingId, expiresAt } = job.attrs.data
    // Under load (thousands of holds lapsing together) the wait plus the expiry can outlast the
    // lock: it is renewed while the job runs rather than cut off with the seats still held.
    await whileLocked(job, lockLifetime / 4, async () => {
      // Agenda may start the job a moment before expiresAt; expiring is conditional on
      // expiresAt <= now, so wait the rest instead of doing nothing and leaving it to the sweep.
      const due = new Date(expiresAt).getTime()
      const early = due - Date.now()
      if (early > 0) await sleep(early + 2)
      // Also when the booking was never written (its hold died after scheduling this): then its lapsed seats go back.
      await bookings.expireHoldJob(new Types.ObjectId(bookingId))
      if (-early > CATCH_UP_AFTER_MS && !catchingUp) {
        catchingUp = true
        try {
          await catchUp()
        } catch (error) {
          // This job's own expiry is done: a catch-up cut short (the database gone a moment) is
          // not its failure, which would keep its document for ever. The bookings the pass did
          // not reach still have their own jobs, and the sweep under them.
          log.warn({ err: error }, 'expiry catch-up stopped; the remaining overdue holds expire by their own jobs')
        } finally {
          catchingUp = false
        }
      }
    })
    // A short lock (ten seconds): jobs are locked up to a scan before they are due, and a dead
    // instance's locks keep others off its holds until they lapse (expiring is conditional, so a
    // rerun is harmless; the sweep expires any overdue booking meanwhile). It must outlast the
    // time a locked job waits in Agenda's queue: a job whose lock lapses there is dropped and
    // locked again, and Agenda's search for due jobs then never ends while nothing runs — with
    // 3 s, 2,000 holds lapsing together on a loaded machine expired nothing for 15 s.
    // While it runs, the job renews it every quarter of it (whileLocked).
  }
  for (const name of EXPIRE_HOLD_NAMES) {
    agenda.define<ExpireHoldData>(name, expire, { concurrency: CONCURRENCY_PER_NAME, lockLimit: 0, lockLifetime, removeOnComplete: true })
  }
}
