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
 * Each expiry job costs Agenda four round trips (lock, start, end, removal) and its own expiry two
 * more, all on the service's event loop. When thousands of holds lapse within seconds, expiry
 * catches up in bulk instead: a pass expires up to 1,000 overdue bookings in four round trips
 * (expireOverdueHoldsInBulk) and removes their jobs in one more. A job an instance had locked
 * ahead then fails to mark itself started and is dropped (one round trip); one already running
 * finds its booking expired and skips its expiry.
 *
 * A catch-up starts when a job starts CATCH_UP_AFTER_MS after its booking's expiresAt (jobs are
 * queueing behind each other; 500 ms let a backlog grow for half a second first), once that job
 * has expired its own booking; or when COALESCE_AT expiry jobs are at work at once on this
 * instance (a burst that Agenda still runs on time: the jobs' own expiries, two round trips
 * each, were most of the service's work while 2,000 holds lapsed), and then its pass takes the
 * job's booking too. A lone hold lapsing is still expired by its own job alone.
 */
const CATCH_UP_AFTER_MS = 100
const COALESCE_AT = 8
/**
 * Bulk passes one catch-up runs at most: it follows a backlog while its passes find overdue
 * bookings (each pass takes those due at its start, never one before its expiresAt) and ends at
 * the first that finds none; the next late or crowded job starts another.
 */
const CATCH_UP_BATCHES = 50

/** Removes the expire-hold jobs of these (FAILED, seats freed) bookings, locked or not. */
export type DropExpiryJobs = (bookingIds: Types.ObjectId[]) => Promise<void>

/** The catch-up under way on this instance: passes started and finished, and jobs waiting for a pass. */
interface CatchUp { started: number, finished: number, waiting: Array<{ pass: number, wake: () => void }> }

/** Fails one PENDING booking at its expiresAt and frees its seats (the protocol's step 3). */
export function defineExpireHold (agenda: Agenda, bookings: BookingService, scanMs: number, active: () => boolean, dropJobsOf: DropExpiryJobs, log: FastifyBaseLogger): void {
  const lockLifetime = 20 * scanMs
  // One catch-up at a time per instance: the jobs that come due meanwhile leave their bookings to its next pass.
  let catchUp: CatchUp | undefined
  // Expiry jobs past their booking's expiresAt and not yet done, on this instance.
  let working = 0
  const wakeWaiting = (c: CatchUp, all: boolean): void => {
    c.waiting = c.waiting.filter((w) => {
      if (!all && w.pass > c.finished) return true
      w.wake()
      return false
    })
  }
  async function runCatchUp (): Promise<void> {
    const c: CatchUp = { started: 0, finished: 0, waiting: [] }
    catchUp = c
    try {
      // Not past shutdown: the service is closing its database (the jobs waiting then expire their own).
      for (let batch = 0; batch < CATCH_UP_BATCHES && active(); batch++) {
        c.started++
        const expired = await bookings.expireOverdueHoldsInBulk()
        c.finished++
        wakeWaiting(c, false)
        if (expired.length === 0) return
        // Their jobs have nothing left to do; removed, they cost no lock scan and no run. One
        // deleteMany per batch instead of six round trips per job.
        await dropJobsOf(expired)
      }
    } finally {
      catchUp = undefined
      wakeWaiting(c, true)
    }
  }
  async function catchUpQuietly (): Promise<void> {
    try {
      await runCatchUp()
    } catch (error) {
      // A catch-up cut short (the database gone a moment) is not the job's failure, which would
      // keep its document for ever: the job expires its own booking itself. The bookings the pass
      // did not reach still have their own jobs, and the overdue pass and the sweep under them.
      log.warn({ err: error }, 'expiry catch-up stopped; the remaining overdue holds expire by their own jobs')
    }
  }
  /**
   * Resolves when a pass of `c` that starts from now on has finished, or when `c` ends: the pass
   * under way may have read the overdue bookings before this one was due.
   */
  const afterNextPass = async (c: CatchUp): Promise<void> => {
    await new Promise<void>((resolve) => c.waiting.push({ pass: c.started + 1, wake: resolve }))
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
      working++
      try {
        const late = -early > CATCH_UP_AFTER_MS
        if (catchUp !== undefined) {
          // A catch-up is under way: its next pass takes this booking with the others (then the
          // expiry below ends without a round trip). Expiring is conditional, so either way is safe.
          await afterNextPass(catchUp)
        } else if (!late && working >= COALESCE_AT) {
          // Crowded, on time: the pass takes this booking too. (A crash between its two writes
          // leaves FAILED bookings with HELD seats: the overdue pass settles them within seconds.)
          await catchUpQuietly()
        }
        // Also when the booking was never written (its hold died after scheduling this): then its lapsed seats go back.
        await bookings.expireHoldJob(new Types.ObjectId(bookingId))
        // Late: its own booking first (it has waited long enough), then the backlog behind it.
        if (late && catchUp === undefined) await catchUpQuietly()
      } finally {
        working--
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
