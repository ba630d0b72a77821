import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import helmet, { type HelmetOptions } from 'helmet'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { AppError, unavailable } from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** helmet's options for this route's security headers, in place of the defaults (the web page's CSP). */
    securityHeaders?: HelmetOptions
  }
  interface FastifyInstance { authRateLimit: { max: number, timeWindow: number } | false, holdRateLimit: { max: number, timeWindow: number } | false }
}

const MINUTE = 60_000

export default fp(async function securityPlugin (fastify: FastifyInstance, opts: { config: Config }) {
  const { config } = opts
  // helmet's security headers on every answer (errors and 404s too: set before routing's
  // outcome is known). By hand rather than @fastify/helmet, which builds helmet's middleware anew
  // for every request (parsing its CSP directives each time) in two async hooks: 2–3 % of the
  // service's CPU in a profile of holds. Each set of options is built into a middleware once.
  const defaults = helmet()
  const byRoute = new WeakMap<HelmetOptions, ReturnType<typeof helmet>>()
  const middlewareFor = (options: HelmetOptions): ReturnType<typeof helmet> => {
    let built = byRoute.get(options)
    if (built === undefined) byRoute.set(options, built = helmet(options))
    return built
  }
  fastify.addHook('onRequest', (request, reply, done) => {
    const options = request.routeOptions.config.securityHeaders
    const headers = options === undefined ? defaults : middlewareFor(options)
    // helmet calls `done` synchronously once the headers are set (and throws rather than pass an error).
    headers(request.raw, reply.raw, done as (error?: unknown) => void)
  })
  await fastify.register(cors, {
    origin: config.corsOrigin,
    methods: ['GET', 'POST', 'PATCH', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-none-match'],
    exposedHeaders: ['retry-after', 'etag', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
    // An OPTIONS that is no preflight (no Access-Control-Request-Method) is answered as one (204
    // with the CORS headers) instead of @fastify/cors's plain-text 400 outside the contract.
    strictPreflight: false
  })

  // Keyed by the signed-in user when the token verifies, else by address: a forged token gets no key of its own.
  const clientKey = (request: FastifyRequest): string => {
    const claims = fastify.tokenClaims(request)
    return claims === null ? `ip:${request.ip}` : `user:${claims.sub}`
  }
  await fastify.register(rateLimit, {
    global: config.rateLimit > 0,
    max: config.rateLimit > 0 ? config.rateLimit : 1,
    timeWindow: MINUTE,
    keyGenerator: clientKey,
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'RATE_LIMITED', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, undefined, { 'retry-after': String(Math.ceil(context.ttl / 1000)) })
  })
  // Stricter limits the auth and hold routes apply through their route config.
  fastify.decorate('authRateLimit', config.authRateLimit > 0 ? { max: config.authRateLimit, timeWindow: MINUTE } : false)
  fastify.decorate('holdRateLimit', config.rateLimit > 0 ? { max: Math.max(1, Math.ceil(config.rateLimit / 5)), timeWindow: MINUTE } : false)

  // Shed load with an immediate 503 instead of letting every request stall.
  await fastify.register(underPressure, {
    // Shed on event-loop delay only: a healthy process under a flash sale runs near 100 %
    // utilisation, and shedding it then would refuse work it can still do in time.
    // 0 turns the check off (under-pressure's own convention); tests that are not about shedding do.
    maxEventLoopDelay: config.overloadEventLoopDelayMs,
    retryAfter: 5,
    exposeStatusRoute: false,
    pressureHandler: (_request, _reply, type, value) => {
      throw unavailable('OVERLOADED', `the service is overloaded (${type} ${String(value)}); retry shortly`, 5)
    }
  })
}, { name: 'security', dependencies: ['auth'] })
