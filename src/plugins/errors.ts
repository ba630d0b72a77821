import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { AppError, badRequest, databaseUnavailable } from '../errors.js'
import type { ErrorBody } from '../schemas/common.js'

interface ValidationIssue { instancePath: string, message?: string, keyword: string, params: Record<string, unknown> }

/**
 * One message naming the offending field. Of ajv's errors the deepest path is the most
 * specific (a union reports every branch's complaint; the one inside a field says what is wrong).
 */
function describeValidation (issues: ValidationIssue[], context: string): { message: string, field: string } {
  // At equal depth an unknown field beats a missing one: in {seatLabels, junk} the junk is the mistake.
  const rank = (e: ValidationIssue): number => e.instancePath.length * 2 + (e.keyword === 'additionalProperties' ? 1 : 0)
  const issue = issues.reduce((best, e) => rank(e) > rank(best) ? e : best, issues[0])
  const field = `${context}${issue.instancePath}`
  const extra = typeof issue.params.additionalProperty === 'string' ? ` ('${issue.params.additionalProperty}')` : ''
  return { message: `${field} ${issue.message ?? 'is invalid'}${extra}`, field }
}

/** Errors that mean the database cannot be reached right now: the client should retry later. */
function isDatabaseUnavailable (error: { name?: string, message?: string }): boolean {
  return /^Mongo(ose)?(ServerSelection|Network|NetworkTimeout|NotConnected|TopologyClosed)Error$/.test(error.name ?? '') ||
    /buffering timed out|Client must be connected|connection .* closed|Topology is closed/i.test(error.message ?? '')
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST'
}

/** Any error as the service's one error type (which renders the contract's body). */
function toAppError (error: unknown): AppError {
  if (error instanceof AppError) return error
  const e = (error ?? {}) as FastifyError & { validation?: ValidationIssue[], validationContext?: string }
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const { message, field } = describeValidation(e.validation, e.validationContext ?? 'body')
    return badRequest('VALIDATION_ERROR', message, { field })
  }
  if (isDatabaseUnavailable(e)) return databaseUnavailable()
  if (e.name === 'CastError' || e.name === 'BSONError') return badRequest('VALIDATION_ERROR', 'a value has the wrong type')
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500
  if (status < 500) {
    const code = FASTIFY_CODES[e.code] ?? (e.message.includes('JSON') ? 'INVALID_JSON' : (STATUS_CODES[status] ?? 'BAD_REQUEST').toUpperCase().replace(/[^A-Z]+/g, '_'))
    return new AppError(status, code, e.message)
  }
  // Never leak internals: the log has the stack, the client a stable code.
  return new AppError(500, 'INTERNAL_ERROR', 'internal error')
}

/** Every error, validation and unknown routes included, answers the contract's one error body. */
export default fp(async function errorsPlugin (fastify: FastifyInstance) {
  fastify.setErrorHandler((error, request, reply) => {
    const answer = toAppError(error)
    const body = answer.toBody()
    // A 503 is a state of the world (database away, overload), not a bug: one line, no stack.
    if (body.statusCode === 503) {
      if (body.code === 'DATABASE_UNAVAILABLE' && fastify.hasDecorator('suspectDatabaseDown')) fastify.suspectDatabaseDown()
      request.log.warn({ code: body.code }, body.message)
    } else if (body.statusCode >= 500) request.log.error({ err: error }, body.message)
    else request.log.info({ code: body.code, statusCode: body.statusCode }, body.message)
    return reply.code(body.statusCode).headers(answer.headers ?? {}).send(body)
  })
  // ajv coerces a query value like "1e400" to Infinity and then skips every range check (they
  // are guarded by isFinite), so ?limit=1e400 reached the handlers and failed as a 500 when the
  // answer was serialised. Query strings are the only coerced input with numbers (bodies are not
  // coerced, and a JSON 1e400 fails the integer check), so they are checked here, after validation.
  fastify.addHook('preHandler', async (request) => {
    const query = request.query
    if (query === null || typeof query !== 'object') return
    for (const [key, value] of Object.entries(query)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw badRequest('VALIDATION_ERROR', `querystring/${key} must be a finite number`, { field: `querystring/${key}` })
      }
    }
  })
  fastify.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` }
    return reply.code(404).send(body)
  })
}, { name: 'errors' })
