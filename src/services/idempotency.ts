import { setTimeout as sleep } from 'node:timers/promises'
import { Types } from 'mongoose'
import type { FastifyBaseLogger } from 'fastify'
import type { Models } from '../models/index.js'
import { AppError, conflict } from '../errors.js'
import type { ErrorBody } from '../schemas/common.js'
import { isDuplicateKey } from './mongo-errors.js'

/** A repeat whose first request is still running waits this long for its answer. */
const WAIT_MS = 10_000
/** After this long an IN_PROGRESS key is taken to be abandoned (its instance died) and may be retried. */
const STALE_MS = 60_000

/** What the work behind a key is, told by the caller: the runner knows nothing of bookings. */
export interface OnceWork<T> {
  /** Identifies the request: the same key with another hash is refused (422). */
  requestHash: string
  /** The status a success answers with (a repeat gets it again). */
  successStatus: number
  /** Does the work once; `attemptId` is fixed before it starts, so whatever it makes can be found by it. */
  attempt: (attemptId: Types.ObjectId) => Promise<T>
  /** What an attempt that gave no answer made after all, or null if it made nothing. */
  madeBy: (attemptId: Types.ObjectId) => Promise<T | null>
  /**
   * Gives back what an abandoned attempt took, before the work is tried again, after fencing it
   * so that nothing it still has in flight can land afterwards; what it made after all (it landed
   * just before the fence) is returned instead, as the answer.
   */
  undo: (attemptId: Types.ObjectId) => Promise<T | null>
  /**
   * Whether a failure that is no answer (5xx) is known to have written nothing: the key is then
   * released, so a repeat runs the work afresh, with nothing to find or undo.
   */
  madeNothing?: (error: unknown) => boolean
}

/**
 * Idempotency-Key replay: runs work at most once per (user, key) and answers repeats with the
 * first answer (a success or a 4xx), recorded in `idempotency_keys`. An attempt that ended
 * without an answer (a 5xx, or its instance died) is settled by the next repeat: the result it
 * made is the answer if it made one, otherwise its leftovers are undone and the work runs again.
 */
export function createIdempotency ({ models, log }: { models: Models, log: FastifyBaseLogger }) {
  const { IdempotencyKey } = models

  async function once<T> (userId: string, key: string, work: OnceWork<T>): Promise<T> {
    const owner = new Types.ObjectId(userId)
    const deadline = Date.now() + WAIT_MS
    for (;;) {
      const attemptId = new Types.ObjectId()
      try {
        // The unique (userId, key) index decides which of concurrent repeats does the work.
        const entry = await IdempotencyKey.create({ userId: owner, key, requestHash: work.requestHash, state: 'IN_PROGRESS', attemptId, createdAt: new Date() })
        return await answerOnce(entry._id, work, attemptId)
      } catch (error) {
        if (!isDuplicateKey(error)) throw error
      }
      const existing = await IdempotencyKey.findOne({ userId: owner, key }).lean()
      if (existing === null) continue
      if (existing.requestHash !== work.requestHash) {
        throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request')
      }
      if (existing.state === 'DONE') return replay<T>(existing.statusCode ?? 500, work.successStatus, existing.response)
      if (existing.state === 'RETRY' || Date.now() - existing.createdAt.getTime() > STALE_MS) {
        // What the unanswered attempt made is the answer: never a second one. (A key written
        // before `bookingId` was renamed `attemptId` names its attempt by the old field.)
        const previous = existing.attemptId ?? existing.bookingId
        const made = previous == null ? null : await work.madeBy(previous)
        if (made !== null) {
          await recordAnswer(existing._id, work.successStatus, made, previous)
          return made
        }
        // Else whoever takes the key over tries again, first undoing what the attempt took.
        // createdAt is the entry's version: every take-over writes a new one.
        const retryId = new Types.ObjectId()
        const taken = await IdempotencyKey.findOneAndUpdate(
          { _id: existing._id, state: existing.state, createdAt: existing.createdAt },
          { $set: { state: 'IN_PROGRESS', attemptId: retryId, createdAt: new Date() } }
        ).lean()
        if (taken === null) continue
        if (previous != null) {
          const landed = await work.undo(previous)
          if (landed !== null) {
            await recordAnswer(existing._id, work.successStatus, landed, retryId)
            return landed
          }
        }
        return await answerOnce(existing._id, work, retryId)
      }
      if (Date.now() > deadline) throw conflict('IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still being processed; retry shortly')
      await sleep(20)
    }
  }

  /**
   * Runs the attempt and records its answer (success or a 4xx) for repeats. A failure that is no
   * answer (5xx) marks the entry RETRY. A failure to record only logs: the entry stays
   * IN_PROGRESS and, once stale, a repeat finds the result by the attempt's id.
   */
  async function answerOnce<T> (entryId: Types.ObjectId, work: OnceWork<T>, attemptId: Types.ObjectId): Promise<T> {
    let result: T
    try {
      result = await work.attempt(attemptId)
    } catch (error) {
      if (error instanceof AppError && error.statusCode < 500) {
        await recordAnswer(entryId, error.statusCode, error.toBody(), attemptId)
      } else if (work.madeNothing?.(error) === true) {
        // Not awaited either: a repeat that comes first finds IN_PROGRESS and waits for the key to go.
        void IdempotencyKey.deleteOne({ _id: entryId, state: 'IN_PROGRESS', attemptId })
          .catch((e: unknown) => log.warn({ err: e }, 'idempotency key not released; a repeat will take it over once stale'))
      } else {
        // Only while the entry is still this attempt's: a repeat may have taken it over. Not
        // awaited: after a database fault it would make the caller wait out server selection a
        // second time; a repeat that comes before the mark lands finds IN_PROGRESS and waits for it.
        void IdempotencyKey.updateOne({ _id: entryId, state: 'IN_PROGRESS', attemptId }, { $set: { state: 'RETRY' } })
          .catch((e: unknown) => log.warn({ err: e }, 'idempotency key not marked for retry; it will be once stale'))
      }
      throw error
    }
    await recordAnswer(entryId, work.successStatus, result, attemptId)
    return result
  }

  /** Records the answer of the entry's current attempt (`attemptId`): an attempt taken over records nothing. */
  async function recordAnswer (entryId: Types.ObjectId, statusCode: number, response: unknown, attemptId: Types.ObjectId): Promise<void> {
    await IdempotencyKey.updateOne({ _id: entryId, attemptId }, { $set: { state: 'DONE', statusCode, response } })
      .catch((error: unknown) => log.warn({ err: error }, 'idempotent answer not recorded; a repeat will find what the attempt made'))
  }

  function replay<T> (statusCode: number, successStatus: number, response: unknown): T {
    if (statusCode === successStatus) return response as T
    const body = response as ErrorBody
    throw new AppError(statusCode, body.code, body.message, body.details)
  }

  return { once }
}
export type Idempotency = ReturnType<typeof createIdempotency>
