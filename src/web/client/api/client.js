// The one way this client talks to the service: openapi-fetch typed by the OpenAPI document
// (schema.d.ts, generated), the session's access token added to each request, refreshed
// before it runs out, and every failure turned into an ApiError with a readable message.
import createClient from 'openapi-fetch'
import { currentSession, ensureFreshToken, refreshSession, endSession } from '../session.js'

/** @typedef {import('./schema').paths & import('./pending').PendingPaths} paths */
/** @typedef {import('./types').ErrorBody} ErrorBody */

/** Server clock minus this clock, from the last answer's Date header: countdowns use the server's time. */
let clockOffset = 0
export const serverNow = () => Date.now() + clockOffset

/** Requests without the session: sign-in, sign-up, refresh, logout. */
export const publicApi = /** @type {import('openapi-fetch').Client<paths>} */ (createClient({ baseUrl: location.origin }))

/** Requests as the signed-in user (or anonymous when nobody is). */
export const api = /** @type {import('openapi-fetch').Client<paths>} */ (createClient({ baseUrl: location.origin }))

/** Request copies kept until their answer, so one refused for a stale token can be sent again. */
const retries = new Map()

/** @type {import('openapi-fetch').Middleware} */
const clock = {
  onResponse ({ response }) {
    const date = Date.parse(response.headers.get('date') ?? '')
    // The header counts whole seconds: an offset under 2 s is its rounding, not a wrong clock.
    if (!Number.isNaN(date)) clockOffset = Math.abs(date - Date.now()) < 2000 ? 0 : date - Date.now()
    return undefined
  }
}

/** @type {import('openapi-fetch').Middleware} */
const auth = {
  async onRequest ({ request, id }) {
    const token = await ensureFreshToken()
    if (token === null) return undefined
    request.headers.set('authorization', `Bearer ${token}`)
    retries.set(id, { request: request.clone(), token })
    return request
  },
  async onResponse ({ response, id }) {
    const sent = retries.get(id)
    retries.delete(id)
    if (response.status !== 401 || sent === undefined) return undefined
    // Refused although a token went with it: perhaps it ran out in flight, perhaps the
    // account is gone. One refresh and one retry tell which; then the session ends cleanly.
    const session = currentSession()
    const refreshed = session?.token !== sent.token || await refreshSession()
    const token = currentSession()?.token
    if (!refreshed || token === undefined) {
      endSession('Your session has ended. Please sign in again.')
      return undefined
    }
    const retry = sent.request
    retry.headers.set('authorization', `Bearer ${token}`)
    const again = await fetch(retry)
    if (again.status === 401) endSession('Your session has ended. Please sign in again.')
    return again
  },
  onError ({ id }) {
    retries.delete(id)
  }
}

publicApi.use(clock)
api.use(clock, auth)

export class ApiError extends Error {
  /**
   * @param {string} message readable, for people
   * @param {number} status 0 when the service could not be reached
   * @param {string} code the contract's code
   * @param {Record<string, unknown> | undefined} details
   */
  constructor (message, status, code, details) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
  }
}

const seconds = (/** @type {string | null} */ retryAfter) => {
  const n = Number(retryAfter)
  return Number.isFinite(n) && n > 0 ? `${Math.ceil(n)} s` : 'a moment'
}

/**
 * A readable sentence for every error the contract names; the server's own message otherwise
 * (it names the field for validation errors).
 * @param {number} status
 * @param {Partial<ErrorBody> | undefined} body
 * @param {string | null} retryAfter
 */
export function describeError (status, body, retryAfter) {
  const code = body?.code ?? ''
  const details = /** @type {Record<string, unknown>} */ (body?.details ?? {})
  const list = (/** @type {unknown} */ value) => Array.isArray(value) ? value.join(', ') : ''
  switch (code) {
    case 'SEATS_UNAVAILABLE':
      if (Array.isArray(details.seats) && details.seats.length > 0) return `Sorry, already taken: ${list(details.seats)}. Please choose other seats.`
      if (typeof details.available === 'number') return `Not enough seats of that kind are free (${details.available} left).`
      return 'Sorry, those seats are already taken. Please choose other seats.'
    case 'UNKNOWN_SEATS': return `These are not seats of this show: ${list(details.seats)}.`
    case 'UNKNOWN_CATEGORY': return 'This show has no seats of that category.'
    case 'HOLD_EXPIRED': return 'Your hold expired before it was confirmed, so the seats were released. Please choose seats again.'
    case 'EXTENSION_LIMIT': return 'This hold cannot be extended any further.'
    case 'INVALID_STATE': return `That is no longer possible: ${body?.message ?? 'the booking changed'}.`
    case 'SHOW_NOT_BOOKABLE': return 'This show can no longer be booked (it has started or was cancelled).'
    case 'SHOW_NOT_FOUND': return 'This show does not exist (any more).'
    case 'BOOKING_NOT_FOUND': return 'This booking does not exist.'
    case 'EMAIL_TAKEN': return 'An account with this email already exists. Sign in instead?'
    case 'WEAK_PASSWORD': return `Please choose a stronger password: ${body?.message ?? 'this one is too easy to guess'}.`
    case 'INVALID_CREDENTIALS': return 'Wrong email or password.'
    case 'ACCOUNT_DISABLED': return 'This account is disabled.'
    case 'INVALID_REFRESH_TOKEN':
    case 'UNAUTHORIZED': return 'Please sign in (again) to do that.'
    case 'FORBIDDEN': return 'Your account is not allowed to do that.'
    case 'RATE_LIMITED': return `Too many requests. Please wait ${seconds(retryAfter)} and try again.`
    case 'OVERLOADED':
    case 'DATABASE_UNAVAILABLE':
    case 'SHUTTING_DOWN': return `The service is busy right now. Please try again in ${seconds(retryAfter)}.`
    case 'NOT_FOUND': return 'This service does not offer that.'
    case 'VALIDATION_ERROR': return `Please check the form: ${body?.message ?? 'a value is not valid'}.`
  }
  if (status >= 500) return 'Something went wrong on our side. Please try again.'
  return body?.message !== undefined && body.message !== '' ? body.message : `The request failed (HTTP ${status}).`
}

/**
 * Awaits an openapi-fetch call: its data, or an ApiError with a readable message.
 * @template T
 * @param {Promise<{ data?: T, error?: unknown, response: Response }>} call
 * @returns {Promise<T>}
 */
export async function unwrap (call) {
  let result
  try {
    result = await call
  } catch {
    throw new ApiError('The service cannot be reached. Please check your connection and try again.', 0, 'NETWORK', undefined)
  }
  const { data, error, response } = result
  if (response.ok) return /** @type {T} */ (data)
  const body = typeof error === 'object' && error !== null ? /** @type {Partial<ErrorBody>} */ (error) : undefined
  throw new ApiError(describeError(response.status, body, response.headers.get('retry-after')), response.status, body?.code ?? `HTTP_${response.status}`, body?.details)
}

/** @param {unknown} error */
export const messageOf = (error) => error instanceof Error ? error.message : 'Something went wrong. Please try again.'
