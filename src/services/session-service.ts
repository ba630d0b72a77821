import { createHash, randomBytes } from 'node:crypto'
import { trusted, Types } from 'mongoose'
import type { FastifyBaseLogger } from 'fastify'
import type { Models } from '../models/index.js'
import { unauthorized, type AppError } from '../errors.js'
import type { Session, User } from '../schemas/auth.js'
import { accountDisabled, toUser } from './user-service.js'

const DAY_MS = 86_400_000

/** Hashes a refresh token for storage and lookup: tokens are 256 random bits, so SHA-256 suffices. */
const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url')

const invalidRefreshToken = (): AppError => unauthorized('INVALID_REFRESH_TOKEN', 'the refresh token is unknown, expired, used or ended; sign in again')

export interface SessionServiceOptions {
  models: Models
  log: FastifyBaseLogger
  refreshTokenDays: number
  /** Signs an access token for the user; returns it with its expiry. */
  signAccessToken: (user: User) => { token: string, expiresAt: Date }
}

/**
 * Sessions: a short access token (JWT) plus an opaque, single-use refresh token. Each refresh
 * exchanges the token for a new one in the same family (one family per sign-in); presenting a
 * token that was already exchanged means two parties hold it, so the whole family is ended.
 */
export function createSessionService ({ models, log, refreshTokenDays, signAccessToken }: SessionServiceOptions) {
  const { RefreshToken, User } = models

  async function issueRefreshToken (userId: Types.ObjectId, familyId: Types.ObjectId): Promise<{ refreshToken: string, refreshExpiresAt: Date }> {
    const refreshToken = randomBytes(32).toString('base64url')
    const now = new Date()
    const refreshExpiresAt = new Date(now.getTime() + refreshTokenDays * DAY_MS)
    await RefreshToken.create({ hash: hashToken(refreshToken), userId, familyId, expiresAt: refreshExpiresAt, createdAt: now })
    return { refreshToken, refreshExpiresAt }
  }

  async function sessionFor (user: User, familyId: Types.ObjectId): Promise<Session> {
    const { refreshToken, refreshExpiresAt } = await issueRefreshToken(new Types.ObjectId(user.id), familyId)
    const access = signAccessToken(user)
    return { token: access.token, expiresAt: access.expiresAt.toISOString(), refreshToken, refreshExpiresAt: refreshExpiresAt.toISOString(), user }
  }

  /** A new sign-in (register, login): a new token family. */
  async function startSession (user: User): Promise<Session> {
    return await sessionFor(user, new Types.ObjectId())
  }

  async function endFamily (familyId: Types.ObjectId): Promise<void> {
    await RefreshToken.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt: new Date() } })
  }

  /** Exchanges a refresh token for a new session; the token sent stops working. */
  async function refreshSession (refreshToken: string): Promise<Session> {
    const hash = hashToken(refreshToken)
    const now = new Date()
    // Single use is decided by this one conditional update: of two refreshes with the same token, one wins.
    const claimed = await RefreshToken.findOneAndUpdate(
      { hash, usedAt: null, revokedAt: null, expiresAt: trusted({ $gt: now }) },
      { $set: { usedAt: now } },
      { returnDocument: 'after', lean: true }
    )
    if (claimed === null) {
      const stored = await RefreshToken.findOne({ hash }).lean()
      if (stored === null || stored.expiresAt <= now) throw invalidRefreshToken()
      const owner = await User.findById(stored.userId, { disabled: 1 }).lean()
      // Only someone holding a token of this account's sign-in learns that it is disabled.
      if (owner?.disabled === true) throw accountDisabled()
      if (stored.usedAt !== null && stored.revokedAt === null) {
        await endFamily(stored.familyId)
        log.warn({ userId: stored.userId.toHexString(), familyId: stored.familyId.toHexString() }, 'spent refresh token presented again: sign-in ended')
      }
      throw invalidRefreshToken()
    }
    // Read fresh, not from the access cache: a refresh is where a sign-in is renewed for days.
    const owner = await User.findById(claimed.userId).lean()
    if (owner === null) {
      await endFamily(claimed.familyId)
      throw invalidRefreshToken()
    }
    if (owner.disabled === true) {
      await endFamily(claimed.familyId)
      throw accountDisabled()
    }
    return await sessionFor(toUser(owner), claimed.familyId)
  }

  /** Logout: the sign-in the token belongs to ends (all its refresh tokens). Unknown tokens are ignored. */
  async function endSession (refreshToken: string): Promise<void> {
    const stored = await RefreshToken.findOne({ hash: hashToken(refreshToken) }, { familyId: 1 }).lean()
    if (stored !== null) await endFamily(stored.familyId)
  }

  /** Ends every sign-in of a user (the account was disabled). */
  async function endUserSessions (userId: string): Promise<void> {
    await RefreshToken.updateMany({ userId: new Types.ObjectId(userId), revokedAt: null }, { $set: { revokedAt: new Date() } })
  }

  return { startSession, refreshSession, endSession, endUserSessions }
}
export type SessionService = ReturnType<typeof createSessionService>
