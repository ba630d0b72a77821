import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import type { Role } from '../models/user.js'
import { forbidden, unauthorized } from '../errors.js'
import type { User } from '../schemas/auth.js'
import { OBJECT_ID } from '../schemas/common.js'

/** What an access token says: only who it is for. Role and state are read from the database. */
interface TokenClaims { sub: string, iat?: number }
/** The authenticated request's account, as the database (or this instance's ≤ 5 s cache) has it. */
interface RequestUser { sub: string, role: Role }

declare module '@fastify/jwt' {
  interface FastifyJWT { payload: TokenClaims, user: RequestUser }
}
declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest) => Promise<void>
    /** The request's bearer token's claims if it verifies and names an ObjectId, else null; verified once per request. */
    tokenClaims: (request: FastifyRequest) => TokenClaims | null
    requireAdmin: (request: FastifyRequest) => Promise<void>
    signAccessToken: (user: User) => { token: string, expiresAt: Date }
  }
}

/** Distinct live access tokens whose verification this instance remembers (a few MB at most). */
const VERIFIED_TOKENS_CACHED = 10_000

export default fp(async function authPlugin (fastify: FastifyInstance, opts: { config: Config }) {
  const { accessTokenSeconds } = opts.config
  await fastify.register(jwt, {
    secret: opts.config.jwtSecret,
    sign: { algorithm: 'HS256', expiresIn: accessTokenSeconds },
    // Only what we sign is accepted: HS256 (no other HMAC, no alg:none) and always an expiry.
    // A client sends the same token with every request for its lifetime, so fast-jwt's cache of
    // verified tokens (LRU, keyed by the token's SHA-256) spares the HMAC and JSON decoding of all
    // but the first (of a sale's thousands of requests per second). An entry is used only up to
    // the token's exp (the same bound its validator checks), so an expired token is verified again
    // and refused; failures are not cached. Access tokens carry no revocable state (a disabled
    // account is refused by `authenticate` reading the database), so caching changes no answer.
    verify: { algorithms: ['HS256'], requiredClaims: ['exp'], cache: VERIFIED_TOKENS_CACHED }
  })

  fastify.decorate('signAccessToken', (user: User) => {
    // iat given explicitly so the expiry reported beside the token is exactly the token's exp.
    const iat = Math.floor(Date.now() / 1000)
    const token = fastify.jwt.sign({ sub: user.id, iat })
    return { token, expiresAt: new Date((iat + accessTokenSeconds) * 1000) }
  })

  // The rate limiter keys signed-in requests by user, and authentication needs the same claims:
  // one HMAC verification per request serves both.
  const verified = new WeakMap<FastifyRequest, TokenClaims | null>()
  fastify.decorate('tokenClaims', (request: FastifyRequest) => {
    let claims = verified.get(request)
    if (claims === undefined) {
      const token = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
      try {
        const payload = token === undefined ? null : fastify.jwt.verify<Record<string, unknown>>(token)
        // A validly signed subject that is not an account id is refused here, before any route
        // runs: nothing downstream (a hold that already claimed seats) may fail on it.
        claims = typeof payload?.sub === 'string' && OBJECT_ID.test(payload.sub) ? { sub: payload.sub.toLowerCase() } : null
      } catch {
        claims = null
      }
      verified.set(request, claims)
    }
    return claims
  })

  const { users } = fastify.services
  fastify.decorate('authenticate', async (request: FastifyRequest) => {
    const claims = fastify.tokenClaims(request)
    if (claims === null) throw unauthorized('UNAUTHORIZED', 'a valid bearer token is required')
    const access = await users.findAccess(claims.sub)
    if (access === null || access.disabled) throw unauthorized('UNAUTHORIZED', 'the account no longer exists or is disabled')
    request.user = { sub: claims.sub, role: access.role }
  })

  fastify.decorate('requireAdmin', async (request: FastifyRequest) => {
    await fastify.authenticate(request)
    if (request.user.role !== 'ADMIN') throw forbidden('this route is for administrators')
  })

  if (opts.config.admin !== undefined) {
    await users.ensureAdmin(opts.config.admin.email, opts.config.admin.password)
  }
}, { name: 'auth', dependencies: ['services'] })
