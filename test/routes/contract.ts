// Shared assertions and types for the HTTP contract tests (API.md). Not a test file itself.
import { STATUS_CODES } from 'node:http'
import tap from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Booking } from '../../src/schemas/booking.js'
import type { Show, SeatMap } from '../../src/schemas/show.js'
import type { Movie } from '../../src/schemas/movie.js'
import type { User } from '../../src/schemas/auth.js'

export type { Booking, Show, SeatMap, Movie, User }

/** The `t` a subtest callback receives. */
export type Tap = Parameters<Parameters<typeof tap.test>[0]>[0]

export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
  details?: Record<string, unknown>
}

export interface Page<T> { items: T[], total: number, limit: number, offset: number }

/**
 * Asserts the contract's one error body: the status, `statusCode` equal to it, the stable
 * `code`, `error` the HTTP reason phrase, a string `message` and never a stack trace.
 */
export function expectError (t: Tap, res: LightMyRequestResponse, status: number, code: string | RegExp, what = ''): ErrorBody {
  const label = what === '' ? `${status} ${String(code)}` : what
  t.equal(res.statusCode, status, `${label}: HTTP status (body ${res.body.slice(0, 300)})`)
  t.match(res.headers['content-type'], /^application\/json/, `${label}: JSON error body`)
  let body: ErrorBody
  try {
    body = JSON.parse(res.body) as ErrorBody
  } catch {
    t.fail(`${label}: error body is not JSON: ${res.body.slice(0, 200)}`)
    return { statusCode: 0, code: '', error: '', message: '' }
  }
  t.equal(body.statusCode, status, `${label}: body.statusCode`)
  if (typeof code === 'string') t.equal(body.code, code, `${label}: body.code`)
  else t.match(body.code, code, `${label}: body.code`)
  t.equal(body.error, STATUS_CODES[status], `${label}: body.error is the reason phrase`)
  t.type(body.message, 'string', `${label}: body.message`)
  t.notOk('stack' in body, `${label}: no stack`)
  t.notMatch(res.body, /\bat .+\.(ts|js):\d+/, `${label}: no stack frames anywhere in the body`)
  return body
}

/** A 400 VALIDATION_ERROR whose message names the offending field. */
export function expectValidationError (t: Tap, res: LightMyRequestResponse, field: string | RegExp, what = ''): ErrorBody {
  const body = expectError(t, res, 400, 'VALIDATION_ERROR', what)
  t.match(body.message, field, `${what === '' ? 'validation' : what}: message names the field`)
  return body
}

export const inFuture = (ms: number): string => new Date(Date.now() + ms).toISOString()
export const HOUR = 3_600_000
export const DAY = 86_400_000

/** A valid ObjectId that names nothing. */
export const MISSING_ID = '0123456789abcdef01234567'
