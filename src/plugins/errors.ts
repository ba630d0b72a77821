import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyServerOptions } from 'fastify'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { AppError, badRequest, databaseUnavailable } from '../errors.js'
import type { ErrorBody } from '../schemas/common.js'
import { databaseFault } from '../services/mongo-errors.js'

interface ValidationIssue { instancePath: string, message?: string, keyword: string, params: Record<string, unknown> }

/**
 * One message naming the offending field. Of ajv's errors the deepest path is the most
 * specific (a union reports every branch's complaint; the one inside a field says what is wrong).
 */
function describeValidation (issues: ValidationIssue[], context: string): { message: string, field: string } {
  // At equal depth an unknown field beats a missing one: in {seatLabels, junk} the junk is the mistake.
  const rank = (e: ValidationIssue): number => e.instancePath.length * 2 + (e.keyword === 'additionalProperties' ? 1 : 0)
  const issue = issues.reduce((best, e) => rank(e) > rank(best) ? e : best, issues[0])
  // A missing property is the field at fault, not the object that lacks it.
  const missing = issue.keyword === 'required' && typeof issue.params.missingProperty === 'string' ? `/${issue.params.missingProperty}` : ''
  const field = `${context}${issue.instancePath}${missing}`
  const allowed = allowedValues(issues, issue)
  if (allowed !== undefined) return { message: `${field} must be one of ${allowed.join(', ')}`, field }
  const extra = typeof issue.params.additionalProperty === 'string' ? ` ('${issue.params.additionalProperty}')` : ''
  return { message: `${context}${issue.instancePath} ${issue.message ?? 'is invalid'}${extra}`, field }
}

/**
 * A fixed set of values (TypeBox writes a union of literals as anyOf of const; an enum as
 * enum): ajv reports each branch's "must be equal to constant" without the value, so the
 * allowed values are gathered from the branches' params to name them.
 */
function allowedValues (issues: ValidationIssue[], issue: ValidationIssue): string[] | undefined {
  if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) return issue.params.allowedValues.map(String)
  if (issue.keyword !== 'const' && issue.keyword !== 'anyOf') return undefined
  const consts = issues.filter((e) => e.instancePath === issue.instancePath && e.keyword === 'const')
  // A union with a non-literal branch (a string or null, say) is not a fixed set: the generic message stays.
  const branches = issues.filter((e) => e.instancePath === issue.instancePath && e.keyword !== 'anyOf')
  if (consts.length === 0 || consts.length !== branches.length) return undefined
  return consts.map((e) => String(e.params.allowedValue))
}

export { databaseFault }

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST'
}

/**
 * Every validation 400 names its field in details.field, also those a service raises after
 * the schema passed (11 seats when the setting allows 10): their message starts with the
 * field's path, as ajv's do, so it is taken from there.
 */
function withField (error: AppError): AppError {
  if (error.code !== 'VALIDATION_ERROR' || typeof error.details?.field === 'string') return error
  const field = /^((?:body|querystring|params|headers)(?:\/[^\s]*)?)\s/.exec(error.message)?.[1]
  return field === undefined ? error : new AppError(error.statusCode, error.code, error.message, { ...error.details, field }, error.headers)
}

/** Any error as the service's one error type (which renders the contract's body). */
export function toAppError (error: unknown): AppError {
  if (error instanceof AppError) return withField(error)
  const e = (error ?? {}) as FastifyError & { validation?: ValidationIssue[], validationContext?: string }
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const { message, field } = describeValidation(e.validation, e.validationContext ?? 'body')
    return badRequest('VALIDATION_ERROR', message, { field })
  }
  if (databaseFault(e) !== undefined) return databaseUnavailable()
  if (e.name === 'CastError' || e.name === 'BSONError') return badRequest('VALIDATION_ERROR', 'a value has the wrong type')
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500
  // The static files refuse a path they will not serve with a 400 or 403: @fastify/static a `..`
  // segment (FST_STATIC_FORBIDDEN_PATH), its sender @fastify/send a NUL byte or an over-long name
  // (http-errors: no `code`, an `expose` flag). To the client that is no such file (a 403 here
  // means "not an admin").
  const staticRefusal = e.code === 'FST_STATIC_FORBIDDEN_PATH' || (e.code === undefined && typeof (e as { expose?: unknown }).expose === 'boolean')
  if ((status === 400 || status === 403) && staticRefusal) {
    return new AppError(404, 'NOT_FOUND', 'no such file')
  }
  if (status < 500) {
    const code = FASTIFY_CODES[e.code] ?? (e.message.includes('JSON') ? 'INVALID_JSON' : (STATUS_CODES[status] ?? 'BAD_REQUEST').toUpperCase().replace(/[^A-Z]+/g, '_'))
    return new AppError(status, code, e.message)
  }
  // Never leak internals: the log has the stack, the client a stable code.
  return new AppError(500, 'INTERNAL_ERROR', 'internal error')
}

// ---- errors the HTTP layer raises before routing -------------------------------------------
//
// A bad URL (Fastify's frameworkErrors) or a request Node's parser refuses (clientErrorHandler)
// never reaches a route, so it would miss every hook: no CORS header (a browser then sees a CORS
// failure, not the error), no security or rate-limit headers, and Fastify's own body without a
// contract code. Instead such a request is answered by an internal route that throws the
// refusal, so it gets the same hooks, error handler and headers as any other answer.

const REFUSAL_ROUTE = '/__modex/refusal'
/** How long a request may take to arrive, head and body (Node's requestTimeout is set to it). */
export const REQUEST_TIMEOUT_MS = 30_000
/** Refusals of requests re-routed in this process (frameworkErrors), by their raw request. */
const refusals = new WeakMap<IncomingMessage, AppError>()
/** For refusals answered through inject (clientErrorHandler): a header no client can forge. */
const REFUSAL_HEADER = 'x-modex-refusal'
const REFUSAL_SECRET = randomBytes(16).toString('hex')

/** Fastify's own router refusals, as contract errors. */
function frameworkRefusal (error: FastifyError): AppError {
  if (error.code === 'FST_ERR_BAD_URL') return new AppError(400, 'VALIDATION_ERROR', 'the URL path is not valid percent-encoding', { field: 'url' })
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return new AppError(400, 'VALIDATION_ERROR', 'a path parameter is too long', { field: 'params' })
  return new AppError(500, 'INTERNAL_ERROR', 'internal error')
}

/** Node's HTTP parser refusals (the request never became one), as contract errors. */
function clientRefusal (error: NodeJS.ErrnoException): AppError {
  if (error.code === 'HPE_HEADER_OVERFLOW') return new AppError(431, 'HEADERS_TOO_LARGE', 'the request headers are too large')
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError(408, 'REQUEST_TIMEOUT', 'the request took too long to arrive')
  // E.g. a content-length shorter than the body: the rest is parsed as a request, and is none.
  return new AppError(400, 'MALFORMED_REQUEST', 'the request is not valid HTTP')
}

/**
 * The server options that route pre-routing errors through the app. `app` is the instance the
 * options are given to (known only once it is built, hence a getter).
 */
export function refusalOptions (app: () => FastifyInstance): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'routerOptions'> {
  return {
    // A path parameter as long as the request line allows reaches its route, whose schema
    // answers 400 naming the field (Fastify's default, 100 characters, answered 414 before routing).
    routerOptions: { maxParamLength: 16 * 1024 },
    frameworkErrors: (error, request, reply) => {
      refusals.set(request.raw, frameworkRefusal(error))
      request.raw.url = REFUSAL_ROUTE
      app().routing(request.raw, reply.raw)
    },
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      // A reset connection has no one to answer (as Fastify's default handler).
      if (error.code === 'ECONNRESET' || socket.destroyed) return
      const refusal = clientRefusal(error)
      app().inject({
        method: 'GET',
        url: REFUSAL_ROUTE,
        remoteAddress: socket.remoteAddress,
        headers: { [REFUSAL_HEADER]: `${REFUSAL_SECRET}:${refusal.statusCode}:${refusal.code}:${refusal.message}` }
      }).then((res) => {
        if (!socket.writable) return
        const headers = Object.entries(res.headers)
          .filter(([name]) => name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding')
          .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${String(v)}\r\n`))
          .join('')
        socket.end(`HTTP/1.1 ${res.statusCode} ${STATUS_CODES[res.statusCode] ?? ''}\r\n${headers}connection: close\r\n\r\n${res.body}`)
      }, () => { socket.destroy() })
    }
  }
}

function refusalOf (request: { raw: IncomingMessage, headers: Record<string, unknown> }): AppError | undefined {
  const known = refusals.get(request.raw)
  if (known !== undefined) return known
  const header = request.headers[REFUSAL_HEADER]
  if (typeof header !== 'string' || !header.startsWith(`${REFUSAL_SECRET}:`)) return undefined
  const [, status, code, ...message] = header.split(':')
  return new AppError(Number(status), code, message.join(':'))
}

/**
 * The route that answers refusals. Registered after the security plugin, so that the rate
 * limit (which attaches itself to routes as they are added) applies to it as to any other.
 */
export async function refusalRoutes (fastify: FastifyInstance): Promise<void> {
  fastify.get(REFUSAL_ROUTE, { schema: { hide: true } }, async (request, reply) => {
    const refusal = refusalOf(request)
    if (refusal === undefined) return reply.callNotFound()
    throw refusal
  })
}

/** Every error, validation and unknown routes included, answers the contract's one error body. */
export default fp(async function errorsPlugin (fastify: FastifyInstance) {
  fastify.setErrorHandler((error, request, reply) => {
    const answer = toAppError(error)
    const body = answer.toBody()
    // A 503 is a state of the world (database away, overload), not a bug: one line, no stack.
    if (body.statusCode === 503) {
      const fault = databaseFault(error)
      if (fault === 'unreachable' && fastify.hasDecorator('suspectDatabaseDown')) fastify.suspectDatabaseDown()
      if (fault === 'network' && fastify.hasDecorator('checkDatabase')) fastify.checkDatabase()
      // Which failure it was (a reset socket, a cleared pool, server selection) and the driver's
      // retry labels: what tells a flaky network from an outage when reading the logs.
      const e = error as { name?: unknown, message?: unknown, errorLabels?: unknown }
      request.log.warn({ code: body.code, fault, cause: `${String(e.name)}: ${String(e.message)}`, labels: Array.isArray(e.errorLabels) ? e.errorLabels : undefined }, body.message)
    } else if (body.statusCode >= 500) request.log.error({ err: error }, body.message)
    else request.log.info({ code: body.code, statusCode: body.statusCode }, body.message)
    return reply.code(body.statusCode).headers(answer.headers ?? {}).send(body)
  })
  // ajv coerces a query value like "1e400" to Infinity and then skips every range check (they
  // are guarded by isFinite), so ?limit=1e400 reached the handlers and failed as a 500 when the
  // answer was serialised. Query strings are the only coerced input with numbers (bodies are not
  // coerced, and a JSON 1e400 fails the integer check), so they are checked here, after validation.
  // The callback form, as every per-request hook (src/app.ts says why).
  fastify.addHook('preHandler', (request, _reply, done) => {
    // Node's own check is off (src/app.ts), so that this refusal has the contract's body and headers.
    if (request.raw.headers.host === undefined && request.raw.httpVersion === '1.1') {
      done(badRequest('MALFORMED_REQUEST', 'an HTTP/1.1 request must have a Host header'))
      return
    }
    const query = request.query
    if (query !== null && typeof query === 'object') {
      for (const [key, value] of Object.entries(query)) {
        if (typeof value === 'number' && !Number.isFinite(value)) {
          done(badRequest('VALIDATION_ERROR', `querystring/${key} must be a finite number`, { field: `querystring/${key}` }))
          return
        }
      }
    }
    done()
  })
  fastify.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` }
    return reply.code(404).send(body)
  })
}, { name: 'errors' })
