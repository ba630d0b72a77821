import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../../schemas/common.js'
import { unavailable } from '../../errors.js'

/** Liveness, readiness and metrics: outside /api, never rate limited. */
const ops: FastifyPluginAsyncTypebox = async (fastify) => {
  const common = { tags: ['operations'] }

  fastify.get('/health', {
    config: { rateLimit: false },
    schema: {
      ...common,
      summary: 'The process runs',
      description: 'Liveness: answers while the process runs, whatever the database does. Never rate limited.',
      response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'The process runs.' }) }
    }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    config: { rateLimit: false },
    schema: {
      ...common,
      summary: 'The database answers and the job scheduler runs',
      description: 'Readiness, for a load balancer: 200 while this instance can serve bookings, else 503 (within about a second). Never rate limited.',
      response: {
        200: Type.Object({ status: Type.Literal('ready'), database: Type.Literal('up'), scheduler: Type.Literal('running') }, { description: 'Ready: the database answers and the job scheduler runs.' }),
        ...errors({ 503: 'DATABASE_UNAVAILABLE: the database does not answer; SCHEDULER_STOPPED: the job scheduler is not running. `details` says which of { database, scheduler } is down.' })
      }
    }
  }, async () => {
    // Known down: say so at once. Else a bounded ping; a failed one makes API requests fail fast too.
    const database = !fastify.databaseDown() && await Promise.race([
      fastify.db.db?.admin().ping().then(() => true, () => false) ?? false,
      sleep(1000).then(() => false)
    ])
    if (!database) fastify.suspectDatabaseDown()
    // schedulerRunning() is a flag set at start-up and cleared at shutdown only; Agenda's own
    // state also catches a scheduler stopped any other way (API.md: else 503).
    const scheduler = fastify.schedulerRunning() && fastify.agenda.isActiveJobProcessor()
    if (!database || !scheduler) {
      throw unavailable(database ? 'SCHEDULER_STOPPED' : 'DATABASE_UNAVAILABLE', database ? 'the job scheduler is not running' : 'the database does not answer', 5,
        { database: database ? 'up' : 'down', scheduler: scheduler ? 'running' : 'stopped' })
    }
    return { status: 'ready' as const, database: 'up' as const, scheduler: 'running' as const }
  })

  fastify.get('/metrics', {
    config: { rateLimit: false },
    schema: {
      ...common,
      summary: 'Prometheus metrics',
      description: 'This instance\'s counters and histograms in the Prometheus text format: holds, conflicts, confirmations, expirations, ' +
        'cancellations, recoveries, hold latency, and the Node.js process. Never rate limited.',
      produces: ['text/plain'],
      response: { 200: Type.String({ description: 'The metrics, Prometheus text format 0.0.4.' }) }
    }
  }, async (_request, reply) => {
    const registry = fastify.metrics.registry
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}
export default ops
