import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bearerAuth, errors } from '../../schemas/common.js'
import { LoginBody, RegisterBody, Session, User } from '../../schemas/auth.js'

const auth: FastifyPluginAsyncTypebox = async (fastify) => {
  const { users } = fastify.services
  // Per address, whatever the token: these routes are where passwords get guessed.
  const limit = fastify.authRateLimit === false ? false : { ...fastify.authRateLimit, keyGenerator: (r: { ip: string }) => `auth:${r.ip}` }

  fastify.post('/register', {
    config: { rateLimit: limit },
    schema: {
      tags: ['auth'], summary: 'Create an account (role USER) and sign in',
      body: RegisterBody,
      response: { 201: Type.Ref(Session), ...errors(400, 409, 429) }
    }
  }, async (request, reply) => {
    const user = await users.register(request.body)
    return reply.code(201).send({ token: fastify.issueToken(user), user })
  })

  fastify.post('/login', {
    config: { rateLimit: limit },
    schema: {
      tags: ['auth'], summary: 'Sign in with email and password',
      body: LoginBody,
      response: { 200: Type.Ref(Session), ...errors(400, 401, 429) }
    }
  }, async (request) => {
    const user = await users.login(request.body)
    return { token: fastify.issueToken(user), user }
  })

  fastify.get('/me', {
    onRequest: fastify.authenticate,
    schema: {
      tags: ['auth'], summary: 'The signed-in account', security: bearerAuth,
      response: { 200: Type.Ref(User), ...errors(401) }
    }
  }, async (request) => users.getUser(request.user.sub))
}
export default auth
