import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createMetrics, type Metrics } from '../metrics.js'

declare module 'fastify' {
  interface FastifyInstance { metrics: Metrics }
}

export default fp(async function metricsPlugin (fastify: FastifyInstance) {
  const metrics = createMetrics()
  fastify.decorate('metrics', metrics)
  // The callback form, as every per-request hook (src/app.ts says why).
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000
    )
    done()
  })
}, { name: 'metrics' })
