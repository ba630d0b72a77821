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
    requireAdmin: (request: FastifyRequest) => Promise<void>
    issueToken: (user: User) => string
  }
}

const TOKEN_TTL = '12h'

export default fp(async function authPlugin (fastify: FastifyInstance, opts: { config: Config }) {
  await fastify.register(jwt, { secret: opts.config.jwtSecret, sign: { expiresIn: TOKEN_TTL } })

  fastify.decorate('issueToken', (user: User) => fastify.jwt.sign({ sub: user.id, role: user.role }))

  fastify.decorate('authenticate', async (request: FastifyRequest) => {
    try {
      await request.jwtVerify()
    } catch {
      throw unauthorized('UNAUTHORIZED', 'a valid bearer token is required')
    }
  })

  fastify.decorate('requireAdmin', async (request: FastifyRequest) => {
    await fastify.authenticate(request)
    if (request.user.role !== 'ADMIN') throw forbidden('this route is for administrators')
  })

  if (opts.config.admin !== undefined) {
    await fastify.services.users.ensureAdmin(opts.config.admin.email, opts.config.admin.password)
  }
}, { name: 'auth', dependencies: ['services'] })
