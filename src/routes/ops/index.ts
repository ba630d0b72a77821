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
    schema: { ...common, summary: 'The process runs', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    config: { rateLimit: false },
    schema: {
      ...common, summary: 'The database answers and the job scheduler runs',
      response: { 200: Type.Object({ status: Type.Literal('ready'), database: Type.Literal('up'), scheduler: Type.Literal('running') }), ...errors(503) }
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
    schema: { ...common, summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: Type.String() } }
  }, async (_request, reply) => {
    const registry = fastify.metrics.registry
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}
export default ops
