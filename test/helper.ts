import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import mongoose from 'mongoose'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { Booking } from '../src/schemas/booking.js'
import type { Movie } from '../src/schemas/movie.js'
import type { SeatMap } from '../src/schemas/show.js'
import { readDatabaseState } from './setup/state.js'

interface Teardown { teardown: (fn: () => unknown) => void }

/** The run's database (started once by test/setup/start-db.ts). */
export function databaseUri (): string {
  const uri = process.env.MONGODB_URI ?? readDatabaseState()?.uri
  if (uri === undefined) throw new Error('no test database: run the tests through `npm test` (tap starts one)')
  return uri
}

export const ADMIN = { email: 'admin@modex.test', password: 'admin-password-1' }

/**
 * Builds the real app on a database of its own, dropped when the test ends.
 * `env` overrides settings exactly as the environment would.
 */
export async function buildTestApp (t: Teardown, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    RATE_LIMIT: '0',
    AUTH_RATE_LIMIT: '0',
    // No load shedding: a saturated test machine must not turn answers into 503s (protection.test.ts turns it on).
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ...env
  })
  const dbName = `modex_test_${randomBytes(6).toString('hex')}`
  const app = buildApp({ config, mongoUri: databaseUri(), dbName }, false)
  t.teardown(async () => {
    await app.close()
    await dropDatabase(dbName)
  })
  await app.ready()
  return app
}

async function dropDatabase (dbName: string): Promise<void> {
  const connection = await mongoose.createConnection(databaseUri(), { dbName }).asPromise()
  await connection.dropDatabase()
  await connection.close()
}

/** Makes the app listen on a free local port (for real sockets, SSE, browsers); its base URL. */
export async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return `http://127.0.0.1:${address.port}`
}

export const json = <T = Record<string, unknown>>(res: LightMyRequestResponse): T => JSON.parse(res.body) as T

let counter = 0
/** Registers a fresh user and returns its bearer header. */
export async function signUp (app: FastifyInstance, name = 'user'): Promise<{ authorization: string, id: string, email: string }> {
  const email = `${name}-${++counter}-${randomBytes(3).toString('hex')}@example.com`
  const res = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { email, password: 'password-123', name } })
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
  const body = json<{ token: string, user: { id: string } }>(res)
  return { authorization: `Bearer ${body.token}`, id: body.user.id, email }
}

export async function adminAuth (app: FastifyInstance): Promise<{ authorization: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
  if (res.statusCode !== 200) throw new Error(`admin login failed: ${res.statusCode} ${res.body}`)
  return { authorization: `Bearer ${json<{ token: string }>(res).token}` }
}

/** Creates a show (as admin) starting tomorrow; returns its body. */
export async function createShow (app: FastifyInstance, overrides: Record<string, unknown> = {}): Promise<{ id: string, [k: string]: unknown }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/admin/shows',
    headers: await adminAuth(app),
    payload: {
      name: 'Test show', type: 'MOVIE', venue: 'Screen 1',
      startTime: new Date(Date.now() + 86_400_000).toISOString(),
      priceCents: 1000,
      seating: { totalSeats: 20, seatsPerRow: 10 },
      ...overrides
    }
  })
  if (res.statusCode !== 201) throw new Error(`create show failed: ${res.statusCode} ${res.body}`)
  return json(res)
}

export async function seatMap (app: FastifyInstance, showId: string): Promise<{ seats: Array<{ id: string, label: string, status: string }>, counts: Record<string, number> }> {
  return json(await app.inject({ method: 'GET', url: `/api/shows/${showId}/seats` }))
}

// ---- Requests, one argument order: (app, who, what) -----------------------------------

export async function hold (
  app: FastifyInstance, authorization: string, showId: string,
  payload: Record<string, unknown>, headers: Record<string, string> = {}
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `/api/shows/${showId}/bookings`, headers: { authorization, ...headers }, payload })
}

/** Holds seats and expects the 201; returns the booking. */
export async function holdOk (app: FastifyInstance, authorization: string, showId: string, seatLabels: string[]): Promise<Booking> {
  const res = await hold(app, authorization, showId, { seatLabels })
  if (res.statusCode !== 201) throw new Error(`hold failed: ${res.statusCode} ${res.body}`)
  return json<Booking>(res)
}

export async function confirm (app: FastifyInstance, authorization: string, bookingId: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `/api/bookings/${bookingId}/confirm`, headers: { authorization } })
}

export async function cancel (app: FastifyInstance, authorization: string, bookingId: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `/api/bookings/${bookingId}/cancel`, headers: { authorization } })
}

export async function getBooking (app: FastifyInstance, authorization: string, bookingId: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/api/bookings/${bookingId}`, headers: { authorization } })
}

/** Seat statuses by label. */
export async function statusByLabel (app: FastifyInstance, showId: string): Promise<Record<string, string>> {
  const res = await app.inject({ method: 'GET', url: `/api/shows/${showId}/seats` })
  if (res.statusCode !== 200) throw new Error(`seat map failed: ${res.statusCode} ${res.body}`)
  return Object.fromEntries(json<SeatMap>(res).seats.map((s) => [s.label, s.status]))
}

export async function createMovie (app: FastifyInstance, payload: Record<string, unknown> = { title: 'A movie' }): Promise<Movie> {
  const res = await app.inject({ method: 'POST', url: '/api/admin/movies', headers: await adminAuth(app), payload })
  if (res.statusCode !== 201) throw new Error(`create movie failed: ${res.statusCode} ${res.body}`)
  return json<Movie>(res)
}

/** Moves a show's start into the past behind the API's back (the API refuses past start times). */
export async function startShow (app: FastifyInstance, showId: string): Promise<void> {
  await app.models.Show.updateOne({ _id: showId }, { $set: { startTime: new Date(Date.now() - 60_000) } })
  // The hold path keeps the show for a moment; a change stream (or the short TTL) tells it of
  // changes made elsewhere. Here the test is "elsewhere", so it says so at once.
  app.services.bookableShows.invalidate(showId)
}

/** Thrown by a waitFor check to stop waiting at once (other errors count as "not yet"). */
export class GiveUp extends Error {}

/** Polls `check` until it returns a value other than undefined, or throws after `ms`. */
export async function waitFor<T> (what: string, ms: number, check: () => Promise<T | undefined>, every = 100): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check().catch((error: unknown) => {
      if (error instanceof GiveUp) throw error
      return undefined
    })
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(every)
  }
}
