import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import mongoose from 'mongoose'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
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
