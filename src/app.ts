import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import AjvCompiler from '@fastify/ajv-compiler'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import { unavailable } from './errors.js'
import errors, { REQUEST_TIMEOUT_MS, refusalOptions, refusalRoutes } from './plugins/errors.js'
import metrics from './plugins/metrics.js'
import swagger from './plugins/swagger.js'
import mongo from './plugins/mongo.js'
import services from './plugins/services.js'
import auth from './plugins/auth.js'
import security from './plugins/security.js'
import agenda from './plugins/agenda.js'
import live from './plugins/live.js'
import opsRoutes from './routes/ops/index.js'
import authRoutes from './routes/auth/index.js'
import adminRoutes from './routes/admin/index.js'
import publicRoutes from './routes/public/index.js'
import seatEventRoutes from './routes/public/seat-events.js'
import bookingRoutes from './routes/bookings/index.js'
import webClient from './web/serve.js'

export interface AppOptions {
  config: Config
  /** The database to use (MONGODB_URI, or the embedded one the entry point started). */
  mongoUri: string
  dbName?: string
}

/** The whole service as one plugin: external plugins, then app plugins, then routes. */
async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  // Shutting down: new requests get the contract's 503 (Fastify's own has no code), and every
  // response says `Connection: close`, so keep-alive sockets end with their last response
  // instead of holding the close open until keepAliveTimeout.
  let closing = false
  fastify.addHook('preClose', async () => { closing = true })
  // Hooks that run on every request take Fastify's callback form: an async hook costs a promise
  // and a turn of the microtask queue per request, for what is one comparison here.
  fastify.addHook('onRequest', (_request, _reply, done) => {
    done(closing ? unavailable('SHUTTING_DOWN', 'this instance is shutting down; retry', 1) : undefined)
  })
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  await fastify.register(errors)
  // The API speaks JSON only: JSON sent as text/plain is 415 UNSUPPORTED_MEDIA_TYPE, not a
  // string that then fails validation as "body must be object".
  fastify.removeContentTypeParser('text/plain')
  await fastify.register(metrics)
  await fastify.register(swagger)
  await fastify.register(mongo, { uri: opts.mongoUri, dbName: opts.dbName })
  await fastify.register(services, { config: opts.config })
  await fastify.register(auth, { config: opts.config })
  await fastify.register(security, { config: opts.config })
  await fastify.register(agenda, { config: opts.config })
  await fastify.register(live, { config: opts.config })

  await fastify.register(refusalRoutes)
  await fastify.register(opsRoutes)
  await fastify.register(authRoutes, { prefix: '/api/auth' })
  await fastify.register(adminRoutes, { prefix: '/api/admin' })
  await fastify.register(publicRoutes, { prefix: '/api' })
  await fastify.register(seatEventRoutes, { prefix: '/api' })
  await fastify.register(bookingRoutes, { prefix: '/api', maxSeatsPerBooking: opts.config.maxSeatsPerBooking })
  // The reference web client: `/` and `/web/*` only, after the API so it shadows none of it.
  await fastify.register(webClient)
}

export const BODY_LIMIT = 256 * 1024

/**
 * Query strings, params and headers arrive as text, so their numbers and lists are coerced;
 * a JSON body already has types, and a wrong one is the client's mistake to hear about
 * (`"seatLabels": "A1"` or `"priceCents": "1e309"` is a 400, not silently converted).
 * Fastify's own ajv compiler, built twice: with coercion, and without it for bodies.
 */
function buildValidator (): ReturnType<typeof AjvCompiler> {
  const factory = AjvCompiler()
  // At run time Fastify hands each compiler the route's definition ({ schema, httpPart, … });
  // the package's types describe a bare ajv compile, hence the narrow casts here.
  type RouteCompiler = (route: { schema: unknown, httpPart?: string }) => unknown
  return (externalSchemas, options) => {
    const customOptions = options?.customOptions ?? {}
    const coercing = factory(externalSchemas, options) as unknown as RouteCompiler
    const strict = factory(externalSchemas, { ...options, mode: undefined, customOptions: { ...customOptions, coerceTypes: false } }) as unknown as RouteCompiler
    const compile: RouteCompiler = (route) => route.httpPart === 'body' ? strict(route) : coercing(route)
    return compile as unknown as ReturnType<ReturnType<typeof AjvCompiler>>
  }
}

/** The Fastify instance with the service registered: what production runs and tests inject into. */
export function buildApp (opts: AppOptions, logger: FastifyServerOptions['logger'] = { level: opts.config.logLevel }): FastifyInstance {
  // The instance's routing answers the errors raised before routing (see refusalOptions).
  const built: { app?: FastifyInstance } = {}
  const fastify = Fastify({
    ...refusalOptions(() => {
      if (built.app === undefined) throw new Error('the app is not built yet')
      return built.app
    }),
    logger: typeof logger === 'object' ? { redact: ['req.headers.authorization'], ...logger } : logger,
    // 5,000 seat labels fit; anything larger is refused before it is parsed.
    bodyLimit: BODY_LIMIT,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: 60_000,
    http: {
      // Node bounds a whole request, head and body, by the larger of headersTimeout and
      // requestTimeout, and Fastify sets only the latter (requestTimeout above), so headersTimeout
      // stayed at Node's 60 s: a request whose body stalled was closed unanswered at 60 s. Both at
      // 30 s, a stalled head or body gets the contract's 408 (clientErrorHandler).
      headersTimeout: REQUEST_TIMEOUT_MS,
      // And Node checks for them only this often (30 s by default: a 408 at up to 60 s).
      connectionsCheckingInterval: 2_000,
      // Node answers an HTTP/1.1 request without Host itself, with a bare 400 (no contract
      // body, no CORS or security headers); the errors plugin refuses it instead.
      requireHostHeader: false
    },
    keepAliveTimeout: 72_000,
    // The app answers requests that arrive while closing itself (see the closing hooks above).
    return503OnClosing: false,
    // Behind a load balancer the client address is in X-Forwarded-For (rate limits key on it).
    trustProxy: opts.config.env === 'production',
    ajv: {
      customOptions: {
        // Unknown fields are an error that names them, not silently dropped.
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
        // An annotation for the OpenAPI document only (@fastify/swagger makes it the request body's
        // named examples); ajv's strict mode would otherwise refuse it as an unknown keyword.
        keywords: ['x-examples']
      },
      // RFC 3339's date-time allows second 60 (a leap second), which JavaScript's Date cannot
      // hold: such a time passed validation and then failed as "a value has the wrong type"
      // without naming its field. A date-time must also be one Date can read.
      onCreate: (ajv) => {
        const rfc3339 = ajv.formats['date-time']
        const check = (typeof rfc3339 === 'object' && rfc3339 !== null && 'validate' in rfc3339 ? rfc3339.validate : undefined) as ((value: string) => boolean) | undefined
        if (typeof check !== 'function') throw new Error('ajv-formats gave no date-time validator')
        ajv.addFormat('date-time', { type: 'string', validate: (value: string) => check(value) && !Number.isNaN(Date.parse(value)) })
      }
    },
    schemaController: { compilersFactory: { buildValidator: buildValidator() } },
    // A response schema with a union (nullable fields, the hold's answers) needs ajv to pick the
    // branch; fast-json-stringify compiles those validators at build time (start-up) instead of on
    // the first response that reaches them: 40–50 ms of compiling inside the first second of a
    // sale, in a profile of the cold burst.
    serializerOpts: { compileValidators: true }
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Not encapsulated: whoever holds the instance (server.ts, tests) sees its decorators (models, services, agenda).
  built.app = fastify
  // An Expect other than 100-continue: Node would answer a bare 417 itself. RFC 9110 lets a server
  // ignore an expectation it does not support, so the request is answered as any other.
  fastify.server.on('checkExpectation', (request, response) => { fastify.routing(request, response) })
  fastify.register(fp(app, { name: 'modex' }), opts)
  return fastify
}
