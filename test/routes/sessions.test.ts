// API.md § Auth, issue 9: sessions (access token + single-use refresh token), refresh rotation,
// reuse of a spent refresh token ending the sign-in, logout, the token rules (HS256 only, `exp`
// required, an ObjectId subject of an existing account), and access following the database
// within 5 s on every instance (checked on a second app sharing the database).
import t from 'tap'
import { createHmac } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { trusted } from 'mongoose'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { ACCESS_CACHE_MS } from '../../src/services/user-service.js'
import { adminAuth, buildTestApp, confirm, createShow, databaseUri, hold, holdOk, json, seatMap, signUp } from '../helper.js'
import { expectError, expectValidationError, type Booking, type Tap, type User } from './contract.js'

interface Session { token: string, expiresAt: string, refreshToken: string, refreshExpiresAt: string, user: User }

const SECRET = 'sessions-test-secret-0123456789abcdef'
const DAY = 86_400_000

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
/** A JWT signed with HMAC by hand, so the header and claims can be anything. */
function craft (header: Record<string, unknown>, claims: Record<string, unknown>, hash = 'sha256', secret = SECRET): string {
  const head = `${b64(header)}.${b64(claims)}`
  return `${head}.${createHmac(hash, secret).update(head).digest('base64url')}`
}
const decode = (token: string, part: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[part], 'base64url').toString()) as Record<string, unknown>
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** Another instance of the service on the same database (its own user cache), as in a deployment. */
async function sibling (t: Tap, app: FastifyInstance, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', RATE_LIMIT: '0', AUTH_RATE_LIMIT: '0', JWT_SECRET: SECRET, ...env })
  const other = buildApp({ config, mongoUri: databaseUri(), dbName: app.db.name }, false)
  t.teardown(async () => { await other.close() })
  await other.ready()
  return other
}

/**
 * Repeats `request` until `refused` says it was refused (at most `ms`). Returns every attempt
 * with the time it was sent. No assertion on how long requests take: the caller checks that no
 * attempt sent ACCESS_CACHE_MS or more after the change was still let through.
 */
async function pollUntilRefused (request: () => Promise<LightMyRequestResponse>, refused: (res: LightMyRequestResponse) => boolean, ms = 20_000): Promise<Array<{ sentAt: number, res: LightMyRequestResponse }>> {
  const attempts: Array<{ sentAt: number, res: LightMyRequestResponse }> = []
  const deadline = Date.now() + ms
  for (;;) {
    const sentAt = Date.now()
    const res = await request()
    attempts.push({ sentAt, res })
    if (refused(res) || Date.now() > deadline) return attempts
    await sleep(100)
  }
}

function expectRefusedWithin (t: Tap, attempts: Array<{ sentAt: number, res: LightMyRequestResponse }>, changedAt: number, status: number, what: string): void {
  const last = attempts[attempts.length - 1]
  t.equal(last.res.statusCode, status, `${what}: refused in the end (${attempts.length} attempts)`)
  const lateAllowed = attempts.filter((a) => a.sentAt - changedAt >= ACCESS_CACHE_MS && a.res.statusCode !== status)
  t.same(lateAllowed.map((a) => `${a.sentAt - changedAt} ms: ${a.res.statusCode}`), [], `${what}: no request sent ${ACCESS_CACHE_MS} ms or more after the change was let through`)
  t.comment(`${what}: refused ${last.sentAt - changedAt} ms after the change`)
}

t.test('sessions', async (t) => {
  const app = await buildTestApp(t, { JWT_SECRET: SECRET })
  const { RefreshToken } = app.models
  const post = async (url: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload, headers })
  const login = async (email: string, password = 'password-123') => post('/api/auth/login', { email, password })
  const refresh = async (refreshToken: unknown) => post('/api/auth/refresh', { refreshToken })
  const logout = async (refreshToken: unknown) => post('/api/auth/logout', { refreshToken })
  const me = async (token: string) => app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })
  const sessionOf = (res: LightMyRequestResponse): Session => {
    if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`no session: ${res.statusCode} ${res.body}`)
    return json<Session>(res)
  }
  const newUser = async (name = 'session') => {
    const user = await signUp(app, name)
    return { ...user, session: sessionOf(await login(user.email)) }
  }

  t.test('login and register answer { token, expiresAt, refreshToken, refreshExpiresAt, user }', async (t) => {
    const sent = Date.now()
    const { session, id, email } = await newUser()
    t.same(Object.keys(session).sort(), ['expiresAt', 'refreshExpiresAt', 'refreshToken', 'token', 'user'])
    t.same(session.user, { id, email, name: 'session', role: 'USER' })
    t.same(decode(session.token, 0), { alg: 'HS256', typ: 'JWT' }, 'the access token is an HS256 JWT')
    const claims = decode(session.token, 1)
    t.same(Object.keys(claims).sort(), ['exp', 'iat', 'sub'], 'it says who (sub) and until when, not the role')
    t.equal(claims.sub, id)
    t.equal(Number(claims.exp) - Number(claims.iat), 900, 'ACCESS_TOKEN_SECONDS defaults to 900')
    t.equal(Date.parse(session.expiresAt), Number(claims.exp) * 1000, 'expiresAt is the token\'s exp')
    t.match(session.refreshToken, /^[A-Za-z0-9_-]{43}$/, 'the refresh token is opaque: 256 random bits')
    const refreshIn = Date.parse(session.refreshExpiresAt) - sent
    t.ok(refreshIn >= 14 * DAY && refreshIn < 14 * DAY + 60_000, `REFRESH_TOKEN_DAYS defaults to 14 (${refreshIn} ms)`)

    const stored = await RefreshToken.find({ userId: id }).lean()
    t.equal(stored.length, 2, 'one refresh token stored per sign-in (register, then login)')
    t.notOk(JSON.stringify(stored).includes(session.refreshToken), 'the refresh token itself is stored nowhere, only its hash')
    t.ok(stored.some((s) => s.expiresAt.toISOString() === session.refreshExpiresAt), 'with its expiry')
    const ttl = (await RefreshToken.collection.indexes()).find((ix) => ix.key.expiresAt === 1)
    t.equal(ttl?.expireAfterSeconds, 0, 'a TTL index lets the database delete expired refresh tokens')
  })

  t.test('refresh rotates: each answer has a new refresh token, the one sent stops working', async (t) => {
    const { session, id } = await newUser()
    let current = session
    for (let i = 1; i <= 3; i++) {
      const res = await refresh(current.refreshToken)
      t.equal(res.statusCode, 200, `refresh ${i}`)
      const next = sessionOf(res)
      t.not(next.refreshToken, current.refreshToken, `refresh ${i}: a new refresh token`)
      t.same(next.user, session.user)
      t.equal((await me(next.token)).statusCode, 200, `refresh ${i}: the new access token works`)
      current = next
    }
    const stored = await RefreshToken.find({ userId: id }).lean()
    const family = stored.filter((s) => s.usedAt !== null)[0].familyId.toHexString()
    const signIn = stored.filter((s) => s.familyId.toHexString() === family)
    t.equal(signIn.length, 4, 'the login\'s sign-in has four tokens')
    t.equal(signIn.filter((s) => s.usedAt !== null).length, 3, 'three used, the newest one live')
    t.equal(stored.length, 5, 'and the sign-in register made has its own one')
  })

  t.test('a spent refresh token presented again ends the whole sign-in (stolen and legitimate alike)', async (t) => {
    const { session, email } = await newUser()
    const other = sessionOf(await login(email)) // a second sign-in of the same account, elsewhere
    const legit = sessionOf(await refresh(session.refreshToken))
    expectError(t, await refresh(session.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'the thief replays the spent token')
    expectError(t, await refresh(legit.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'the legitimate newer token is ended too')
    t.equal((await refresh(other.refreshToken)).statusCode, 200, 'the account\'s other sign-in is untouched')

    // The other order: the thief refreshes first, then the owner.
    const owner = sessionOf(await login(email))
    const thief = sessionOf(await refresh(owner.refreshToken))
    expectError(t, await refresh(owner.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'the owner finds the token spent')
    expectError(t, await refresh(thief.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'and the thief\'s token is ended')
  })

  t.test('one refresh token refreshed five times at once: exactly one succeeds', async (t) => {
    const { session } = await newUser()
    const answers = await Promise.all(Array.from({ length: 5 }, async () => refresh(session.refreshToken)))
    t.equal(answers.filter((r) => r.statusCode === 200).length, 1, 'single use')
    for (const r of answers.filter((a) => a.statusCode !== 200)) expectError(t, r, 401, 'INVALID_REFRESH_TOKEN')
  })

  t.test('logout: 204, and that sign-in\'s refresh tokens stop working', async (t) => {
    const { session, email } = await newUser()
    const other = sessionOf(await login(email))
    const res = await logout(session.refreshToken)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '', 'no body')
    expectError(t, await refresh(session.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'refresh after logout')
    t.equal((await logout(session.refreshToken)).statusCode, 204, 'logging out twice is fine')
    t.equal((await logout('no-such-token')).statusCode, 204, 'an unknown token: 204 too (nothing to end)')
    t.equal((await refresh(other.refreshToken)).statusCode, 200, 'the other sign-in is untouched')

    // Logging out with a spent token of a sign-in ends the newer tokens as well.
    const first = sessionOf(await login(email))
    const second = sessionOf(await refresh(first.refreshToken))
    t.equal((await logout(first.refreshToken)).statusCode, 204)
    expectError(t, await refresh(second.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'the sign-in\'s newest token after logout with an older one')

    expectValidationError(t, await post('/api/auth/logout', {}), /refreshToken/, 'logout without a token')
    expectValidationError(t, await logout(''), /refreshToken/, 'logout with an empty token')
  })

  t.test('refresh: bad tokens', async (t) => {
    expectError(t, await refresh('not-a-refresh-token'), 401, 'INVALID_REFRESH_TOKEN', 'an unknown token')
    const { session } = await newUser()
    expectError(t, await refresh(session.token), 401, 'INVALID_REFRESH_TOKEN', 'an access token is no refresh token')
    expectValidationError(t, await post('/api/auth/refresh', {}), /refreshToken/, 'no token')
    expectValidationError(t, await refresh(42), /refreshToken/, 'a number')
    expectValidationError(t, await refresh('x'.repeat(257)), /refreshToken/, 'too long')
    expectValidationError(t, await post('/api/auth/refresh', { refreshToken: session.refreshToken, userId: session.user.id }), /userId/, 'an unknown field')
    t.equal((await refresh(session.refreshToken)).statusCode, 200, 'the real one still works after all that')
  })

  t.test('a refresh token past REFRESH_TOKEN_DAYS is refused', async (t) => {
    const { session } = await newUser()
    // The clock moved: the stored expiry is set into the past (the TTL monitor has not run yet).
    const moved = await RefreshToken.updateOne({ expiresAt: new Date(session.refreshExpiresAt) }, { $set: { expiresAt: new Date(Date.now() - 1000) } })
    t.equal(moved.modifiedCount, 1)
    expectError(t, await refresh(session.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'expired refresh token')
  })

  t.test('settings: ACCESS_TOKEN_SECONDS and REFRESH_TOKEN_DAYS', async (t) => {
    const short = await buildTestApp(t, { JWT_SECRET: SECRET, ACCESS_TOKEN_SECONDS: '2', REFRESH_TOKEN_DAYS: '3' })
    const user = await signUp(short, 'short')
    const sent = Date.now()
    const session = sessionOf(await short.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'password-123' } }))
    const claims = decode(session.token, 1)
    t.equal(Number(claims.exp) - Number(claims.iat), 2, 'the access token lives ACCESS_TOKEN_SECONDS')
    const refreshIn = Date.parse(session.refreshExpiresAt) - sent
    t.ok(refreshIn >= 3 * DAY && refreshIn < 3 * DAY + 60_000, 'the refresh token lives REFRESH_TOKEN_DAYS')
    // The access token really expires (exp is checked): poll until it is refused.
    const whoami = async () => short.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${session.token}` } })
    const attempts = await pollUntilRefused(whoami, (r) => r.statusCode === 401)
    expectError(t, attempts[attempts.length - 1].res, 401, 'UNAUTHORIZED', 'an expired access token')
    // It was accepted first, so it sat in the cache of verified tokens when it expired: the
    // cached verification ends at exp too.
    t.ok(attempts.some((a) => a.res.statusCode === 200), 'the token was accepted while it lived')
    const late = attempts.filter((a) => a.sentAt >= (Number(claims.exp) + 1) * 1000 && a.res.statusCode !== 401)
    t.same(late.length, 0, 'no request a second past exp was let through')
    // …and the refresh token gets a new one.
    const renewed = sessionOf(await short.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: session.refreshToken } }))
    t.ok(Date.parse(renewed.expiresAt) > Date.now() - 1000, 'a fresh access token')

    for (const [env, name] of [
      [{ ACCESS_TOKEN_SECONDS: '0' }, 'ACCESS_TOKEN_SECONDS'],
      [{ ACCESS_TOKEN_SECONDS: 'soon' }, 'ACCESS_TOKEN_SECONDS'],
      [{ REFRESH_TOKEN_DAYS: '1.5' }, 'REFRESH_TOKEN_DAYS'],
      [{ REFRESH_TOKEN_DAYS: '0' }, 'REFRESH_TOKEN_DAYS']
    ] as const) {
      let refused: unknown
      try {
        loadConfig({ NODE_ENV: 'test', ...env })
      } catch (error) {
        refused = error
      }
      t.ok(refused instanceof ConfigError && refused.message.includes(name), `${JSON.stringify(env)} is refused naming ${name} (${String(refused)})`)
    }
    t.match(loadConfig({ NODE_ENV: 'test' }), { accessTokenSeconds: 900, refreshTokenDays: 14 }, 'defaults 900 s and 14 days')
  })

  t.test('tokens: HS256 only, exp required, the subject an existing account; else 401 before anything happens', async (t) => {
    const show = await createShow(app)
    const { id } = await signUp(app, 'subject')
    const now = nowSeconds()
    const good = { sub: id, iat: now, exp: now + 600 }
    const bearer = (token: string) => `Bearer ${token}`
    t.equal((await me(craft({ alg: 'HS256', typ: 'JWT' }, good))).statusCode, 200, 'a well-made HS256 token (the crafting is right)')

    const refused: Array<[string, string]> = [
      ['HS512 with the right secret', craft({ alg: 'HS512', typ: 'JWT' }, good, 'sha512')],
      ['HS384 with the right secret', craft({ alg: 'HS384', typ: 'JWT' }, good, 'sha384')],
      ['no exp', craft({ alg: 'HS256', typ: 'JWT' }, { sub: id, iat: now })],
      ['exp in the past', craft({ alg: 'HS256', typ: 'JWT' }, { sub: id, iat: now - 100, exp: now - 10 })],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good)}.`],
      ['another secret', craft({ alg: 'HS256', typ: 'JWT' }, good, 'sha256', 'another-secret-0123456789abcdef')],
      ['a subject that is not an ObjectId', craft({ alg: 'HS256', typ: 'JWT' }, { ...good, sub: 'ada' })],
      ['a subject of 25 hex digits', craft({ alg: 'HS256', typ: 'JWT' }, { ...good, sub: `${id}0` })],
      ['a subject with a non-hex digit', craft({ alg: 'HS256', typ: 'JWT' }, { ...good, sub: `${id.slice(0, 23)}z` })],
      ['a number as subject', craft({ alg: 'HS256', typ: 'JWT' }, { ...good, sub: 123 })],
      ['an operator as subject', craft({ alg: 'HS256', typ: 'JWT' }, { ...good, sub: { $ne: null } })],
      ['no subject', craft({ alg: 'HS256', typ: 'JWT' }, { iat: now, exp: now + 600 })],
      ['the subject of no account', craft({ alg: 'HS256', typ: 'JWT' }, { ...good, sub: '0123456789abcdef01234567' })]
    ]
    for (const [what, token] of refused) {
      expectError(t, await me(token), 401, 'UNAUTHORIZED', `${what}: /me`)
      expectError(t, await hold(app, bearer(token), show.id, { seatLabels: ['A1', 'A2'] }, { 'idempotency-key': `k-${what}` }), 401, 'UNAUTHORIZED', `${what}: a hold`)
      expectError(t, await hold(app, bearer(token), show.id, { quantity: 2 }), 401, 'UNAUTHORIZED', `${what}: a best-available hold`)
      expectError(t, await app.inject({ method: 'GET', url: '/api/admin/shows', headers: { authorization: bearer(token) } }), 401, 'UNAUTHORIZED', `${what}: an admin route`)
    }
    t.same((await seatMap(app, show.id)).counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'no seat was claimed, even for a moment')
    t.equal(await app.models.Booking.countDocuments({ showId: show.id }), 0, 'no booking')
    t.equal(await app.models.IdempotencyKey.countDocuments(), 0, 'no Idempotency-Key recorded')
    t.equal(await app.models.Seat.countDocuments({ showId: show.id, bookingId: trusted({ $ne: null }) }), 0, 'no seat names a booking')

    // A role claim in the token changes nothing: the role is the database's.
    const claimsAdmin = craft({ alg: 'HS256', typ: 'JWT' }, { ...good, role: 'ADMIN' })
    expectError(t, await app.inject({ method: 'GET', url: '/api/admin/shows', headers: { authorization: bearer(claimsAdmin) } }), 403, 'FORBIDDEN', 'a USER\'s token claiming ADMIN')
  })

  t.test('access follows the database within 5 s, on this instance and another', async (t) => {
    const other = await sibling(t, app)
    const admin = await adminAuth(app)
    const patch = async (id: string, payload: Record<string, unknown>) => {
      const res = await app.inject({ method: 'PATCH', url: `/api/admin/users/${id}`, headers: admin, payload })
      if (res.statusCode !== 200) throw new Error(`patch user: ${res.statusCode} ${res.body}`)
      return Date.now() // the change is written before the answer
    }
    const show = await createShow(app, { seating: { totalSeats: 30, seatsPerRow: 10 } })

    await t.test('a demoted admin\'s admin requests are 403', async (t) => {
      const boss = await newUser('boss')
      await patch(boss.id, { role: 'ADMIN' })
      const adminShows = (on: FastifyInstance) => async () => on.inject({ method: 'GET', url: '/api/admin/shows', headers: { authorization: boss.authorization } })
      t.equal((await adminShows(app)()).statusCode, 200, 'promoted: admin routes answer at once here (a token from before the promotion)')
      t.equal((await adminShows(other)()).statusCode, 200, 'and on the other instance')
      const changedAt = await patch(boss.id, { role: 'USER' })
      expectError(t, await adminShows(app)(), 403, 'FORBIDDEN', 'demoted: 403 at once on the instance that demoted')
      const attempts = await pollUntilRefused(adminShows(other), (r) => r.statusCode === 403)
      expectRefusedWithin(t, attempts, changedAt, 403, 'on the other instance')
      expectError(t, attempts[attempts.length - 1].res, 403, 'FORBIDDEN', 'the other instance\'s refusal')
      t.equal((await me(boss.session.token)).statusCode, 200, 'still signed in, as a USER')
    })

    await t.test('a disabled user\'s holds and confirms are 401 and hold nothing; login and refresh are 403 ACCOUNT_DISABLED', async (t) => {
      const user = await newUser('disabled')
      const pending = await holdOk(app, user.authorization, show.id, ['A1'])
      const mine = (on: FastifyInstance) => async () => on.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: user.authorization } })
      t.equal((await mine(other)()).statusCode, 200, 'signed in on the other instance')
      const changedAt = await patch(user.id, { disabled: true })

      const before = await seatMap(app, show.id)
      expectError(t, await hold(app, user.authorization, show.id, { seatLabels: ['B1', 'B2'] }), 401, 'UNAUTHORIZED', 'a hold on the instance that disabled')
      expectError(t, await confirm(app, user.authorization, pending.id), 401, 'UNAUTHORIZED', 'a confirm')
      const attempts = await pollUntilRefused(mine(other), (r) => r.statusCode === 401)
      expectRefusedWithin(t, attempts, changedAt, 401, 'the other instance')
      expectError(t, await hold(other, user.authorization, show.id, { seatLabels: ['B1', 'B2'] }), 401, 'UNAUTHORIZED', 'a hold on the other instance')
      expectError(t, await hold(other, user.authorization, show.id, { quantity: 3 }), 401, 'UNAUTHORIZED', 'a best-available hold on the other instance')
      expectError(t, await confirm(other, user.authorization, pending.id), 401, 'UNAUTHORIZED', 'a confirm on the other instance')
      t.same((await seatMap(app, show.id)).counts, before.counts, 'nothing more is held')
      t.equal((await app.models.Booking.findById(pending.id).lean())?.status, 'PENDING', 'the earlier booking was not confirmed')
      t.equal(await app.models.Booking.countDocuments({ userId: user.id }), 1, 'no new booking')

      expectError(t, await login(user.email), 403, 'ACCOUNT_DISABLED', 'login')
      expectError(t, await login(user.email, 'wrong-password-1'), 401, 'INVALID_CREDENTIALS', 'a wrong password says nothing about the account')
      expectError(t, await refresh(user.session.refreshToken), 403, 'ACCOUNT_DISABLED', 'refresh')

      await patch(user.id, { disabled: false })
      t.equal((await login(user.email)).statusCode, 200, 'enabled again: login works')
      expectError(t, await refresh(user.session.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'the sign-ins that disabling ended stay ended')
    })

    await t.test('a deleted account loses access within 5 s', async (t) => {
      const user = await newUser('deleted')
      const pending = await holdOk(app, user.authorization, show.id, ['C1'])
      const mine = async () => app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: user.authorization } })
      t.equal((await mine()).statusCode, 200)
      // Behind the API's back (an operator in the shell): no instance hears of it.
      await app.models.User.deleteOne({ _id: user.id })
      const changedAt = Date.now()
      const attempts = await pollUntilRefused(mine, (r) => r.statusCode === 401)
      expectRefusedWithin(t, attempts, changedAt, 401, 'deleted')
      expectError(t, await confirm(app, user.authorization, pending.id), 401, 'UNAUTHORIZED', 'a confirm')
      expectError(t, await hold(app, user.authorization, show.id, { seatLabels: ['C2'] }), 401, 'UNAUTHORIZED', 'a hold')
      t.equal((await app.models.Booking.findById(pending.id).lean<Booking>())?.status, 'PENDING')
      t.equal((await seatMap(app, show.id)).seats.find((s) => s.label === 'C2')?.status, 'AVAILABLE')
      expectError(t, await refresh(user.session.refreshToken), 401, 'INVALID_REFRESH_TOKEN', 'refresh')
    })
  })
})
