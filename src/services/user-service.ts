import type { FastifyBaseLogger } from 'fastify'
import type { Models } from '../models/index.js'
import type { Role } from '../models/user.js'
import { AppError, notFound, unauthorized } from '../errors.js'
import type { LoginBody, RegisterBody, User } from '../schemas/auth.js'
import { decoyHash, hashPassword, verifyPassword } from './passwords.js'
import { isDuplicateKey } from './mongo-errors.js'

interface UserDoc { _id: { toString(): string }, email: string, name: string, role: string }

export const toUser = (doc: UserDoc): User => ({
  id: doc._id.toString(), email: doc.email, name: doc.name, role: doc.role as Role
})

export function createUserService ({ models, log }: { models: Models, log: FastifyBaseLogger }) {
  const { User } = models

  async function register (body: RegisterBody): Promise<User> {
    const passwordHash = await hashPassword(body.password)
    try {
      const doc = await User.create({ email: body.email.toLowerCase(), name: body.name, passwordHash, role: 'USER' })
      return toUser(doc)
    } catch (error) {
      if (isDuplicateKey(error)) throw new AppError(409, 'EMAIL_TAKEN', 'an account with this email already exists')
      throw error
    }
  }

  async function login (body: LoginBody): Promise<User> {
    const doc = await User.findOne({ email: body.email.toLowerCase() }).lean()
    // Always hash once, found or not: equal time, and one message for both failures.
    const ok = await verifyPassword(body.password, doc?.passwordHash ?? await decoyHash())
    if (doc === null || !ok) throw unauthorized('INVALID_CREDENTIALS', 'email or password is wrong')
    return toUser(doc)
  }

  async function getUser (id: string): Promise<User> {
    const doc = await User.findById(id).lean()
    if (doc === null) throw unauthorized('UNAUTHORIZED', 'the account no longer exists')
    return toUser(doc)
  }

  /** Makes sure the configured admin account exists, has role ADMIN and the configured password. */
  async function ensureAdmin (email: string, password: string): Promise<User> {
    const passwordHash = await hashPassword(password)
    // Two instances starting at once may both upsert; the loser's E11000 is retried as an update.
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await User.findOneAndUpdate(
          { email: email.toLowerCase() },
          { $set: { role: 'ADMIN', passwordHash }, $setOnInsert: { name: 'Administrator' } },
          { upsert: true, returnDocument: 'after', lean: true }
        )
        if (doc === null) throw notFound('NOT_FOUND', 'admin upsert returned nothing')
        log.info({ email: doc.email }, 'admin account ensured')
        return toUser(doc)
      } catch (error) {
        if (attempt === 0 && isDuplicateKey(error)) continue
        throw error
      }
    }
  }

  return { register, login, getUser, ensureAdmin }
}
export type UserService = ReturnType<typeof createUserService>
