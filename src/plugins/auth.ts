import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import type { Role } from '../models/user.js'
import { forbidden, unauthorized } from '../errors.js'
import type { User } from '../schemas/auth.js'

interface TokenClaims { sub: string, role: Role }

declare module '@fastify/jwt' {
  interface FastifyJWT { payload: TokenClaims, user: TokenClaims }
}
declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest) => Promise<void>
    /** The request's bearer token's claims if it verifies, else null; verified once per request. */
    tokenClaims: (request: FastifyRequest) => TokenClaims | null
    requireAdmin: (request: FastifyRequest) => Promise<void>
    issueToken: (user: User) => string
  }
}

const TOKEN_TTL = '12h'

export default fp(async function authPlugin (fastify: FastifyInstance, opts: { config: Config }) {
  await fastify.register(jwt, { secret: opts.config.jwtSecret, sign: { expiresIn: TOKEN_TTL } })

  fastify.decorate('issueToken', (user: User) => fastify.jwt.sign({ sub: user.id, role: user.role }))

  // The rate limiter keys signed-in requests by user, and authentication needs the same claims:
  // one HMAC verification per request serves both.
  const verified = new WeakMap<FastifyRequest, TokenClaims | null>()
  fastify.decorate('tokenClaims', (request: FastifyRequest) => {
    let claims = verified.get(request)
    if (claims === undefined) {
      const token = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
      try {
        claims = token === undefined ? null : fastify.jwt.verify<TokenClaims>(token)
      } catch {
        claims = null
      }
      verified.set(request, claims)
    }
    return claims
  })

  fastify.decorate('authenticate', async (request: FastifyRequest) => {
    const claims = fastify.tokenClaims(request)
    if (claims === null) throw unauthorized('UNAUTHORIZED', 'a valid bearer token is required')
    request.user = claims
  })

  fastify.decorate('requireAdmin', async (request: FastifyRequest) => {
    await fastify.authenticate(request)
    if (request.user.role !== 'ADMIN') throw forbidden('this route is for administrators')
  })

  if (opts.config.admin !== undefined) {
    await fastify.services.users.ensureAdmin(opts.config.admin.email, opts.config.admin.password)
  }
}, { name: 'auth', dependencies: ['services'] })
