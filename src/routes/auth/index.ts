import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bearerAuth, errors } from '../../schemas/common.js'
import { LoginBody, RefreshBody, RegisterBody, Session, User } from '../../schemas/auth.js'

const SESSION = 'A session: `token` (the access token, a JWT sent as `Authorization: Bearer`, valid until `expiresAt`, ' +
  'ACCESS_TOKEN_SECONDS) and `refreshToken` (opaque, single use, valid until `refreshExpiresAt`, REFRESH_TOKEN_DAYS): ' +
  'POST it to /api/auth/refresh for a new session before the access token expires.'

const auth: FastifyPluginAsyncTypebox = async (fastify) => {
  const { users, sessions } = fastify.services
  // Per address, whatever the token: login and register are where passwords get guessed. Refresh and
  // logout keep the global limit only: a refresh token (256 random bits) cannot be guessed, and many
  // browsers behind one address refresh every ACCESS_TOKEN_SECONDS.
  const limit = fastify.authRateLimit === false ? false : { ...fastify.authRateLimit, keyGenerator: (r: { ip: string }) => `auth:${r.ip}` }

  fastify.post('/register', {
    config: { rateLimit: limit },
    schema: {
      tags: ['auth'], summary: 'Create an account (role USER) and sign in',
      description: `${SESSION} 400 WEAK_PASSWORD: the password is the email or a commonly used one. ` +
        'The name is trimmed; blank, or holding control or bidi-override characters, is 400 VALIDATION_ERROR. 409 EMAIL_TAKEN (emails are case-insensitive).',
      body: RegisterBody,
      response: { 201: Type.Ref(Session), ...errors(400, 409, 429) }
    }
  }, async (request, reply) => {
    const user = await users.register(request.body)
    return reply.code(201).send(await sessions.startSession(user))
  })

  fastify.post('/login', {
    config: { rateLimit: limit },
    schema: {
      tags: ['auth'], summary: 'Sign in with email and password',
      description: `${SESSION} 401 INVALID_CREDENTIALS (one answer for an unknown email and a wrong password); 403 ACCOUNT_DISABLED.`,
      body: LoginBody,
      response: { 200: Type.Ref(Session), ...errors(400, 401, 403, 429) }
    }
  }, async (request) => await sessions.startSession(await users.login(request.body)))

  fastify.post('/refresh', {
    schema: {
      tags: ['auth'], summary: 'Exchange a refresh token for a new session',
      description: `${SESSION} The refresh token sent stops working. Sending a refresh token that was already used ends ` +
        'that whole sign-in (the newer refresh tokens too): 401 INVALID_REFRESH_TOKEN, as for an unknown, expired or logged-out one. ' +
        '403 ACCOUNT_DISABLED.',
      body: RefreshBody,
      response: { 200: Type.Ref(Session), ...errors(400, 401, 403, 429) }
    }
  }, async (request) => await sessions.refreshSession(request.body.refreshToken))

  fastify.post('/logout', {
    schema: {
      tags: ['auth'], summary: 'Sign out: the sign-in this refresh token belongs to ends',
      description: 'Every refresh token of that sign-in stops working. Answers 204 whether or not the token was known. ' +
        'Access tokens already issued stay valid until their expiresAt (at most ACCESS_TOKEN_SECONDS).',
      body: RefreshBody,
      response: { 204: Type.Null({ description: 'signed out' }), ...errors(400, 429) }
    }
  }, async (request, reply) => {
    await sessions.endSession(request.body.refreshToken)
    return reply.code(204).send(null)
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
