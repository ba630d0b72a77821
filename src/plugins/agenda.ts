import fp from 'fastify-plugin'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { Agenda } from 'agenda'
import { MongoBackend } from '@agendajs/mongo-backend'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { databaseFault } from './errors.js'
import { defineExpireHold } from '../jobs/expire-hold.js'
import { defineSweepStaleHolds, scheduleSweep } from '../jobs/sweep-stale-holds.js'

declare module 'fastify' {
  interface FastifyInstance { agenda: Agenda, schedulerRunning: () => boolean }
}

/** How often each instance looks for due jobs; job locks are a few of these long. */
const SCAN_MS = 500

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
    maxConcurrency: 200,
    defaultLockLifetime: 5000
  })
  let running = false
  let closing = false
  agenda.on('error', (error: Error) => {
    // A poll cut short by the database closing under it during shutdown is part of a normal stop.
    if (closing && databaseFault(error) !== undefined) fastify.log.debug({ err: error }, 'agenda poll interrupted by shutdown')
    else fastify.log.error({ err: error }, 'agenda error')
  })
  agenda.on('fail', (error: Error, job: { attrs: { name: string } }) => fastify.log.error({ err: error, job: job.attrs.name }, 'job failed'))
  defineExpireHold(agenda, fastify.services.bookings, SCAN_MS)
  defineSweepStaleHolds(agenda, fastify.services.bookings, SCAN_MS)
  fastify.decorate('agenda', agenda)
  fastify.decorate('schedulerRunning', () => running)
  await agenda.start()
  await scheduleSweep(agenda, opts.config.sweepSeconds * 1000)
  running = true
  // preClose runs before any onClose hook, so jobs finish while the database is still open.
  fastify.addHook('preClose', async () => {
    running = false
    closing = true
    // Let running jobs finish (bounded), then release the locks this instance still holds on jobs
    // it had queued ahead, so another instance takes them at once instead of after the lock
    // lifetime. (After drain, Agenda's own stop() has no processor left and unlocks nothing.)
    await agenda.drain({ timeout: 5000 })
    await db.collection('agendaJobs').updateMany(
      { lastModifiedBy: instanceName, lockedAt: { $ne: null } },
      { $set: { lockedAt: null } }
    ).catch((error: unknown) => fastify.log.warn({ err: error }, 'could not release job locks'))
  })
}, { name: 'agenda', dependencies: ['mongo', 'services'] })
