import { trusted, Types } from 'mongoose'
import type { FastifyBaseLogger } from 'fastify'
import type { Models } from '../models/index.js'
import type { Role } from '../models/user.js'
import { AppError, badRequest, conflict, notFound, unauthorized } from '../errors.js'
import type { AdminUser, AdminUserQuery, LoginBody, RegisterBody, UpdateUserBody, User } from '../schemas/auth.js'
import type { Page } from '../schemas/common.js'
import { decoyHash, hashPassword, isCommonPassword, verifyPassword } from './passwords.js'
import { isDuplicateKey } from './mongo-errors.js'

interface UserDoc { _id: { toString(): string }, email: string, name: string, role: string }
interface AdminUserDoc extends UserDoc { disabled?: boolean | null, createdAt?: Date | null }

export const toUser = (doc: UserDoc): User => ({
  id: doc._id.toString(), email: doc.email, name: doc.name, role: doc.role as Role
})

const toAdminUser = (doc: AdminUserDoc): AdminUser => ({
  ...toUser(doc), disabled: doc.disabled === true, createdAt: (doc.createdAt ?? new Date(0)).toISOString()
})

/** What a request's authentication needs to know about its account, read from the database. */
export interface Access { role: Role, disabled: boolean }

/**
 * How long an instance may answer from its cache who a token's account is (role, disabled,
 * existence). API.md allows at most 5 s before a demotion, disabling or deletion takes effect.
 */
export const ACCESS_CACHE_MS = 5_000
const ACCESS_CACHE_MAX = 50_000
const ACCESS_BATCH_MAX = 500
/** The longest a batch of account reads waits for the read before it to come back. */
export const ACCESS_BATCH_WAIT_MS = 50

// Control characters (C0, DEL, C1) and the bidi embedding/override/isolate controls, which can
// make a name display as something else (U+202E turns "evil\u202Egpj.exe" into "evilexe.jpg").
const FORBIDDEN_IN_NAME = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u

/** The trimmed name, or a 400 VALIDATION_ERROR naming the field. */
export function cleanName (name: string, field = 'body/name'): string {
  if (FORBIDDEN_IN_NAME.test(name)) throw badRequest('VALIDATION_ERROR', `${field} must not hold control or bidi-override characters`, { field })
  const trimmed = name.trim()
  if (trimmed === '') throw badRequest('VALIDATION_ERROR', `${field} must not be blank`, { field })
  return trimmed
}

export const accountDisabled = (): AppError => new AppError(403, 'ACCOUNT_DISABLED', 'this account is disabled')
const lastAdmin = (): AppError => conflict('LAST_ADMIN', 'this is the last enabled admin: it cannot be demoted or disabled')
const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

export function createUserService ({ models, log, endUserSessions }: {
  models: Models
  log: FastifyBaseLogger
  /** Ends every sign-in of the user (called when the account is disabled). */
  endUserSessions: (userId: string) => Promise<void>
}) {
  const { User } = models

  async function register (body: RegisterBody): Promise<User> {
    const name = cleanName(body.name)
    const email = body.email.toLowerCase()
    if (body.password.toLowerCase() === email || isCommonPassword(body.password)) {
      throw badRequest('WEAK_PASSWORD', 'this password is too easy to guess (it is the email or a commonly used password); choose another')
    }
    const passwordHash = await hashPassword(body.password)
    try {
      const doc = await User.create({ email, name, passwordHash, role: 'USER', disabled: false })
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
    // Said only to whoever knows the password, so it does not tell which accounts exist.
    if (doc.disabled === true) throw accountDisabled()
    return toUser(doc)
  }

  async function getUser (id: string): Promise<User> {
    const doc = await User.findById(id).lean()
    if (doc === null || doc.disabled === true) throw unauthorized('UNAUTHORIZED', 'the account no longer exists or is disabled')
    return toUser(doc)
  }

  // ---- Access: who a token's subject is, cached per instance for at most ACCESS_CACHE_MS ----

  // The promise is cached, so a burst of requests from one user costs one read. Its age counts
  // from when it was asked for (the read goes out then or a little later, see below), so no
  // answer is older than the bound.
  const accessCache = new Map<string, { at: number, access: Promise<Access | null> }>()

  // Reads of different accounts go out together: in a flash sale hundreds of users arrive at
  // once, each needing its own lookup, and one `$in` read serves them all (the bench counts the
  // database commands per hold). Ids asked for in one turn of the event loop form a batch; while
  // a batch's read is at the database the next batch keeps collecting, and goes out when that read
  // comes back (group commit: a cold burst's arrivals spread over many turns, and one read per
  // turn was one per request or two), or after ACCESS_BATCH_WAIT_MS, whichever is first (a read
  // stalled in an outage does not make the next wait twice). A full batch goes out at once.
  type Waiter = { resolve: (access: Access | null) => void, reject: (error: unknown) => void }
  let batch: Map<string, Waiter[]> | undefined
  /** The collecting batch's turn has ended: it goes out when no read is at the database (or at this timer). */
  let batchDue: NodeJS.Timeout | undefined
  let reading = 0

  async function readAccessBatch (waiting: Map<string, Waiter[]>): Promise<void> {
    reading++
    try {
      const ids = [...waiting.keys()].map((id) => new Types.ObjectId(id))
      const docs = await User.find({ _id: trusted({ $in: ids }) }, { role: 1, disabled: 1 }).lean()
      const found = new Map(docs.map((d) => [d._id.toHexString(), { role: d.role as Role, disabled: d.disabled === true }]))
      for (const [id, waiters] of waiting) for (const waiter of waiters) waiter.resolve(found.get(id) ?? null)
    } catch (error) {
      for (const waiters of waiting.values()) for (const waiter of waiters) waiter.reject(error)
    } finally {
      reading--
      if (reading === 0 && batchDue !== undefined) sendBatch()
    }
  }

  function sendBatch (): void {
    const waiting = batch
    batch = undefined
    clearTimeout(batchDue)
    batchDue = undefined
    if (waiting !== undefined) void readAccessBatch(waiting)
  }

  async function readAccess (id: string): Promise<Access | null> {
    return await new Promise<Access | null>((resolve, reject) => {
      if (batch === undefined) {
        const waiting = new Map<string, Waiter[]>()
        batch = waiting
        setImmediate(() => {
          if (batch !== waiting) return
          if (reading === 0) sendBatch()
          else batchDue = setTimeout(() => { if (batch === waiting) sendBatch() }, ACCESS_BATCH_WAIT_MS)
        })
      }
      batch.set(id, [...(batch.get(id) ?? []), { resolve, reject }])
      if (batch.size >= ACCESS_BATCH_MAX) sendBatch()
    })
  }

  /** The account's role and state, or null if it does not exist. `id` must be an ObjectId's hex. */
  async function findAccess (id: string): Promise<Access | null> {
    const now = Date.now()
    const cached = accessCache.get(id)
    if (cached !== undefined && now - cached.at < ACCESS_CACHE_MS) return await cached.access
    const access = readAccess(id)
    accessCache.delete(id) // re-inserted last: the Map's order is then oldest first
    accessCache.set(id, { at: now, access })
    // A failed read is not remembered: the next request asks the database again.
    access.catch(() => { if (accessCache.get(id)?.access === access) accessCache.delete(id) })
    if (accessCache.size > ACCESS_CACHE_MAX) {
      for (const [key, entry] of accessCache) {
        if (accessCache.size <= ACCESS_CACHE_MAX / 2 && now - entry.at < ACCESS_CACHE_MS) break
        accessCache.delete(key)
      }
    }
    return await access
  }

  // ---- Admin user management ----

  async function listUsers (query: AdminUserQuery): Promise<Page<AdminUser>> {
    const where: Record<string, unknown> = {}
    if (query.email !== undefined) where.email = trusted({ $regex: escapeRegex(query.email.toLowerCase()) })
    if (query.role !== undefined) where.role = query.role
    if (query.disabled !== undefined) where.disabled = query.disabled ? true : trusted({ $ne: true })
    const [docs, total] = await Promise.all([
      User.find(where, { passwordHash: 0 }).sort({ email: 1 }).skip(query.offset).limit(query.limit).lean(),
      User.countDocuments(where)
    ])
    return { items: docs.map(toAdminUser), total, limit: query.limit, offset: query.offset }
  }

  const enabledAdmins = async (): Promise<number> => await User.countDocuments({ role: 'ADMIN', disabled: trusted({ $ne: true }) })

  /**
   * Changes a role or disables/enables an account. The last enabled admin may not lose that
   * standing: with no transactions, the change is made first and the enabled admins counted
   * after it; if none is left, the change is undone and 409 LAST_ADMIN. Two admins demoting
   * each other at once each count after their own write, so at most one of them succeeds.
   */
  async function updateUser (id: string, body: UpdateUserBody): Promise<AdminUser> {
    const _id = new Types.ObjectId(id)
    const before = await User.findById(_id).lean()
    if (before === null) throw notFound('USER_NOT_FOUND', 'no user has this id')
    const set: Record<string, unknown> = {}
    if (body.role !== undefined) set.role = body.role
    if (body.disabled !== undefined) set.disabled = body.disabled
    const after = await User.findOneAndUpdate({ _id }, { $set: set }, { returnDocument: 'after', lean: true })
    if (after === null) throw notFound('USER_NOT_FOUND', 'no user has this id')
    const wasEnabledAdmin = before.role === 'ADMIN' && before.disabled !== true
    const isEnabledAdmin = after.role === 'ADMIN' && after.disabled !== true
    if (wasEnabledAdmin && !isEnabledAdmin && await enabledAdmins() === 0) {
      // Undo only what this request set, and only if nobody changed it since; updatedAt too,
      // so a refused change leaves the document exactly as it was.
      await User.updateOne({ _id, ...set }, { $set: { role: before.role, disabled: before.disabled, updatedAt: before.updatedAt } }, { timestamps: false })
      throw lastAdmin()
    }
    forgetAccess(id)
    if (after.disabled === true && before.disabled !== true) {
      await endUserSessions(id)
      log.info({ userId: id }, 'account disabled: its sign-ins ended')
    }
    return toAdminUser(after)
  }

  /** Drops this instance's cached access for a user it just changed (other instances follow within ACCESS_CACHE_MS). */
  function forgetAccess (id: string): void {
    accessCache.delete(id)
  }

  /** Makes sure the configured admin account exists, is enabled, has role ADMIN and the configured password. */
  async function ensureAdmin (email: string, password: string): Promise<User> {
    const passwordHash = await hashPassword(password)
    // Two instances starting at once may both upsert; the loser's E11000 is retried as an update.
    for (let attempt = 0; ; attempt++) {
      try {
        // Enabled too: the environment's admin is how operators get back in when no admin is left.
        const doc = await User.findOneAndUpdate(
          { email: email.toLowerCase() },
          { $set: { role: 'ADMIN', passwordHash, disabled: false }, $setOnInsert: { name: 'Administrator' } },
          { upsert: true, returnDocument: 'after', lean: true }
        )
        if (doc === null) throw notFound('NOT_FOUND', 'admin upsert returned nothing')
        forgetAccess(doc._id.toString())
        log.info({ email: doc.email }, 'admin account ensured')
        return toUser(doc)
      } catch (error) {
        if (attempt === 0 && isDuplicateKey(error)) continue
        throw error
      }
    }
  }

  return { register, login, getUser, findAccess, forgetAccess, listUsers, updateUser, ensureAdmin }
}
export type UserService = ReturnType<typeof createUserService>
