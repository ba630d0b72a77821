import fp from 'fastify-plugin'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { Agenda } from 'agenda'
import { MongoBackend } from '@agendajs/mongo-backend'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { databaseFault } from './errors.js'
import { defineExpireHold, EXPIRE_HOLD_NAMES } from '../jobs/expire-hold.js'
import { defineSweepStaleHolds, scheduleSweep } from '../jobs/sweep-stale-holds.js'
import { speedUpJobQueue } from '../jobs/job-queue.js'

declare module 'fastify' {
  interface FastifyInstance { agenda: Agenda, schedulerRunning: () => boolean }
}

/** How often each instance looks for due jobs; job locks are a few of these long. */
const SCAN_MS = 500

/** The mongo backend's error for saving a job whose document is gone, for an expiry job. */
const REMOVED_EXPIRY_JOB = new RegExp(`^job [0-9a-f]{24} \\(name: (${EXPIRE_HOLD_NAMES.join('|')})\\) cannot be updated in the database`)

/** How overdue a PENDING booking must be for the overdue pass (every OVERDUE_PASS_MS) to expire it. */
const OVERDUE_GRACE_MS = 1000

/** Agenda with its jobs stored in the same MongoDB, so any instance runs any job. */
export default fp(async function agendaPlugin (fastify: FastifyInstance, opts: { config: Config }) {
  const db = fastify.db.db
  if (db === undefined) throw new Error('the database connection has no Db')
  // Unique per process: job locks record it (lastModifiedBy), and shutdown releases its own.
  const instanceName = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  const agenda = new Agenda({
    name: instanceName,
    backend: new MongoBackend({ mongo: db, collection: 'agendaJobs' }),
    // Numbers, not strings: Agenda's parser reads '200 milliseconds' as 200 s.
    // Jobs due before the next scan are locked and run on a timer, so expiry lag stays
    // well under a second; the scan interval bounds only how late newly scheduled work is seen.
    processEvery: SCAN_MS,
    // Above the expiry jobs' own 200 (their names' together, the legacy name's 25 aside): with
    // every expiry slot taken, a due sweep would otherwise
    // wait in Agenda's queue while its (short) lock ages, and be cut off soon after it starts.
    maxConcurrency: 240,
    defaultLockLifetime: 5000
  })
  let running = false
  let closing = false
  agenda.on('error', (error: Error) => {
    // Agenda 6 clears a job's lockedAt when its work is done, then saves the job; its liveness
    // check can fire during that save and report "canceled, no lockedAt date found" for a job
    // that has in fact finished (the save and removal still complete). Not an error of ours.
    if (/^execution of '[^']+' canceled, no lockedAt date found/.test(error.message)) {
      fastify.log.debug({ err: error }, 'agenda reported a finished job as cancelled')
      return
    }
    // An expiry job a bulk pass removed (its booking expired with the others) after this instance
    // locked it: Agenda cannot mark it started and drops it, which is what it is for.
    if (REMOVED_EXPIRY_JOB.test(error.message)) {
      fastify.log.debug({ err: error }, 'an expiry job removed by a bulk pass was dropped')
      return
    }
    // A poll cut short by the database closing under it during shutdown is part of a normal stop.
    if (closing && databaseFault(error) !== undefined) fastify.log.debug({ err: error }, 'agenda poll interrupted by shutdown')
    else fastify.log.error({ err: error }, 'agenda error')
    // A job that outlived its lock is cut off with this error (and no 'fail' event): counted,
    // because a cut-off sweep or expiry is work left for later.
    const cancelled = /^execution of '([^']+)' canceled, execution took more than/.exec(error.message)
    if (cancelled !== null) fastify.metrics.jobsCancelled.inc({ job: cancelled[1] })
  })
  agenda.on('fail', (error: Error, job: { attrs: { name: string } }) => fastify.log.error({ err: error, job: job.attrs.name }, 'job failed'))
  const jobs = db.collection('agendaJobs')
  defineExpireHold(agenda, fastify.services.bookings, SCAN_MS, () => running, async (bookingIds) => {
    // Locked ones too: their bookings are FAILED (final) with their seats freed, so the jobs have
    // nothing left to do. An instance that locked one ahead of its time then fails to mark it
    // started (its document is gone) and never runs it: one round trip instead of four.
    await jobs.deleteMany({ name: { $in: EXPIRE_HOLD_NAMES }, 'data.bookingId': { $in: bookingIds.map((id) => id.toHexString()) } })
  }, fastify.log)
  defineSweepStaleHolds(agenda, fastify.services.bookings, SCAN_MS)
  fastify.decorate('agenda', agenda)
  fastify.decorate('schedulerRunning', () => running)
  await agenda.start()
  speedUpJobQueue(agenda, fastify.log)
  await scheduleSweep(agenda, opts.config.sweepSeconds * 1000)
  running = true
  // The safety net under the jobs: every OVERDUE_PASS_MS (2 s by default) each instance expires PENDING bookings
  // more than OVERDUE_GRACE_MS past expiresAt, and settles seats HELD as long past heldUntil (an
  // indexed query each, nothing to do when the jobs keep up). A job whose lock is held by a killed instance (up to its 10 s lock), a job lost between a
  // booking's write and its scheduling, or an extension whose reschedule never happened would
  // otherwise wait for the sweep (SWEEP_SECONDS, 30 s by default).
  let passing = false
  const overduePass = opts.config.overduePassMs === 0 ? undefined : setInterval(() => {
    if (!running || passing) return
    passing = true
    const cutoff = new Date(Date.now() - OVERDUE_GRACE_MS)
    // Then seats still HELD a second past heldUntil for a booking that is FAILED, CANCELLED or
    // CONFIRMED (an expirer or canceller killed between its two writes): one indexed query.
    fastify.services.bookings.expireOverdueHolds(cutoff)
      .then(async () => await fastify.services.bookings.settleLapsedSeats(cutoff))
      // And seats of bookings cancelled by then whose canceller did not free them (killed or cut off).
      .then(async () => await fastify.services.bookings.freeSeatsOfPendingReleases(cutoff))
      .catch((error: unknown) => fastify.log.debug({ err: error }, 'overdue pass failed; the next one retries'))
      .finally(() => { passing = false })
  }, opts.config.overduePassMs)
  overduePass?.unref()
  // preClose runs before any onClose hook, so jobs finish while the database is still open.
  fastify.addHook('preClose', async () => {
    running = false
    clearInterval(overduePass)
    closing = true
    // Let running jobs finish (bounded), then release the locks this instance still holds on jobs
    // it had queued ahead, so another instance takes them at once instead of after the lock
    // lifetime. (After drain, Agenda's own stop() has no processor left and unlocks nothing.)
    await agenda.drain({ timeout: 5000 })
    await jobs.updateMany(
      { lastModifiedBy: instanceName, lockedAt: { $ne: null } },
      { $set: { lockedAt: null } }
    ).catch((error: unknown) => fastify.log.warn({ err: error }, 'could not release job locks'))
  })
}, { name: 'agenda', dependencies: ['mongo', 'services'] })
