import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Types, trusted } from 'mongoose'
import type { FastifyBaseLogger } from 'fastify'
import type { Models } from '../models/index.js'
import type { BookingStatus } from '../models/booking.js'
import type { SeatStatus } from '../models/seat.js'
import { AppError, badRequest, conflict, notFound } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { Page } from '../schemas/common.js'
import type { Booking, BookingQuery, HoldBody } from '../schemas/booking.js'
import type { ErrorBody } from '../schemas/common.js'
import { isDuplicateKey } from './mongo-errors.js'

interface BookingDoc {
  _id: Types.ObjectId, showId: Types.ObjectId, userId: Types.ObjectId, status: BookingStatus,
  seats: Array<{ id: Types.ObjectId, label: string }>, totalPriceCents: number, expiresAt: Date,
  createdAt: Date, confirmedAt?: Date | null, cancelledAt?: Date | null, failureReason?: string | null
}

export function toBooking (doc: BookingDoc): Booking {
  return {
    id: doc._id.toString(),
    showId: doc.showId.toString(),
    userId: doc.userId.toString(),
    status: doc.status,
    seats: doc.seats.map((s) => ({ id: s.id.toString(), label: s.label })),
    totalPriceCents: doc.totalPriceCents,
    expiresAt: doc.expiresAt.toISOString(),
    createdAt: doc.createdAt.toISOString(),
    confirmedAt: doc.confirmedAt?.toISOString() ?? null,
    cancelledAt: doc.cancelledAt?.toISOString() ?? null,
    failureReason: doc.failureReason ?? null
  }
}

/**
 * How long seats of a CONFIRMED booking being cancelled stay HELD before the sweep may
 * settle them. Cancel moves them BOOKED → HELD first so that a crash at any later step
 * leaves them where the sweep looks; this grace keeps the sweep off a cancel in progress.
 */
const CANCEL_GRACE_MS = 10_000
/** How many stale bookings or seats one sweep settles; the next sweep takes the rest. */
const SWEEP_BATCH = 1000
/** A repeat of an Idempotency-Key whose first request is still running waits this long for its answer. */
const IDEMPOTENCY_WAIT_MS = 10_000
/** After this long an IN_PROGRESS key is taken to be abandoned (its instance died) and may be retried. */
const IDEMPOTENCY_STALE_MS = 60_000

export interface BookingServiceOptions {
  models: Models
  metrics: Metrics
  log: FastifyBaseLogger
  maxSeatsPerBooking: number
  /** Asks the scheduler to run `expire-hold` for this booking at `at` (an Agenda job). */
  scheduleExpiry: (bookingId: Types.ObjectId, at: Date) => Promise<void>
  /** Told after this instance set seats of a show to `status` (no list: changed some), for the seat-map cache. */
  seatsChanged?: (showId: Types.ObjectId, seatIds?: Types.ObjectId[], status?: SeatStatus) => void
  /** Test-only: die (SIGKILL, no cleanup) at this step, to prove the sweep recovers. */
  crashAt?: 'after-claims' | 'after-confirm'
}

function crash (): never {
  process.kill(process.pid, 'SIGKILL')
  throw new Error('unreachable')
}

export function createBookingService ({ models, metrics, log, maxSeatsPerBooking, scheduleExpiry, crashAt, seatsChanged = () => undefined }: BookingServiceOptions) {
  const { Show, Seat, Booking, IdempotencyKey } = models

  /** Seats this booking holds go back to AVAILABLE; conditional on bookingId, so a seat someone else took since is untouched. */
  async function releaseHeldSeats (bookingId: Types.ObjectId, only?: Types.ObjectId[]): Promise<number> {
    const filter: Record<string, unknown> = { bookingId, status: 'HELD' }
    if (only !== undefined) filter._id = trusted({ $in: only })
    const result = await Seat.updateMany(filter, { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } })
    return result.modifiedCount
  }

  // ---- 1. Hold -------------------------------------------------------------------------

  async function holdSeatsNow (userId: string, showId: string, request: HoldBody, bookingId = new Types.ObjectId()): Promise<Booking> {
    const wanted = 'seatIds' in request ? request.seatIds : request.seatLabels
    const field = 'seatIds' in request ? 'seatIds' : 'seatLabels'
    if (wanted.length > maxSeatsPerBooking) {
      throw badRequest('VALIDATION_ERROR', `body/${field} must NOT have more than ${maxSeatsPerBooking} items`)
    }
    // The hot path speaks to the driver directly (no query casting, no document hydration): the ids are cast here.
    const show = await Show.collection.findOne<{ _id: Types.ObjectId, status: string, startTime: Date, holdSeconds: number, priceCents: number }>(
      { _id: new Types.ObjectId(showId) }, { projection: { status: 1, startTime: 1, holdSeconds: 1, priceCents: 1 } })
    if (show === null) throw notFound('SHOW_NOT_FOUND', `show ${showId} does not exist`)
    if (show.status !== 'SCHEDULED' || show.startTime.getTime() <= Date.now()) {
      throw conflict('SHOW_NOT_BOOKABLE', show.status !== 'SCHEDULED' ? 'the show is cancelled' : 'the show has started')
    }

    let seatIds: Types.ObjectId[]
    if ('seatIds' in request) {
      seatIds = request.seatIds.map((id) => new Types.ObjectId(id))
      // Ids are hex, case-insensitively: the schema's uniqueItems compares the text.
      if (new Set(seatIds.map((id) => id.toHexString())).size < seatIds.length) {
        throw badRequest('VALIDATION_ERROR', 'body/seatIds must NOT have duplicate items')
      }
    } else {
      const found = await Seat.find({ showId: show._id, label: trusted({ $in: request.seatLabels }) }, { _id: 1, label: 1 })
        .lean<Array<{ _id: Types.ObjectId, label: string }>>()
      const known = new Set(found.map((s) => s.label))
      const unknown = request.seatLabels.filter((l) => !known.has(l))
      if (unknown.length > 0) throw badRequest('UNKNOWN_SEATS', `not seats of this show: ${unknown.join(', ')}`, { seats: unknown })
      seatIds = found.map((s) => s._id)
    }
    // A fixed claim order (by id) makes two competing holds collide on their first
    // shared seat, so the loser gives up before taking more.
    seatIds.sort((a, b) => a.toHexString().localeCompare(b.toHexString()))

    // The booking id exists before any claim (bookingId), so every claimed seat names its owner
    // and the sweep can settle it by that booking even if this process dies here.
    const heldUntil = new Date(Date.now() + show.holdSeconds * 1000)
    const claimed: Array<{ id: Types.ObjectId, label: string }> = []
    try {
      for (const seatId of seatIds) {
        // Atomic on one document: only an AVAILABLE seat of this show can be taken.
        const seat = await Seat.collection.findOneAndUpdate(
          { _id: seatId, showId: show._id, status: 'AVAILABLE' },
          { $set: { status: 'HELD', bookingId, heldUntil } },
          { returnDocument: 'after', projection: { label: 1 } }
        ) as { label: string } | null
        if (seat === null) break
        claimed.push({ id: seatId, label: seat.label })
      }
    } catch (error) {
      // All-or-nothing even when the database fails mid-way. Not awaited: with the database gone
      // it would only make the caller wait out server selection again, and if it fails the
      // sweep releases these seats at heldUntil anyway (the booking was never written).
      void releaseHeldSeats(bookingId, claimed.map((s) => s.id)).catch((e: unknown) => log.warn({ err: e, bookingId }, 'compensation failed'))
      if (claimed.length > 0) seatsChanged(show._id)
      throw error
    }
    if (claimed.length < seatIds.length) {
      // Compensate: give back exactly what this booking claimed (nothing to do when the first claim lost), then say why.
      if (claimed.length > 0) {
        await releaseHeldSeats(bookingId, claimed.map((s) => s.id))
        seatsChanged(show._id, claimed.map((s) => s.id), 'AVAILABLE')
      }
      metrics.conflicts.inc()
      throw await explainRefusal(show._id, seatIds)
    }

    seatsChanged(show._id, seatIds, 'HELD')
    if (crashAt === 'after-claims') crash()
    // Written only once every seat is held: a PENDING booking always owns all its seats.
    const now = new Date()
    const doc: BookingDoc = {
      _id: bookingId,
      showId: show._id,
      userId: new Types.ObjectId(userId),
      status: 'PENDING',
      seats: claimed,
      totalPriceCents: show.priceCents * claimed.length,
      expiresAt: heldUntil,
      createdAt: now,
      confirmedAt: null,
      cancelledAt: null,
      failureReason: null
    }
    // The document the schema would write (timestamps, defaults), inserted without a mongoose document round.
    // No compensation if this fails: a write whose reply was lost may have landed, and freeing its
    // seats would leave a PENDING booking without them. They stay HELD and the sweep settles them
    // at heldUntil by whether the booking exists.
    await Booking.collection.insertOne({ ...doc, paymentReference: null, updatedAt: now })
    // If scheduling fails the hold still lapses: the sweep fails overdue PENDING bookings.
    await scheduleExpiry(bookingId, heldUntil).catch((error: unknown) => log.warn({ err: error, bookingId }, 'expire-hold not scheduled; the sweep will expire it'))
    metrics.holds.inc()
    return toBooking(doc)
  }

  /** Why a claim failed: unknown ids are the caller's mistake (400), taken seats a conflict (409). */
  async function explainRefusal (showId: Types.ObjectId, seatIds: Types.ObjectId[]): Promise<AppError> {
    const seats = await Seat.collection.find<{ _id: Types.ObjectId, label: string, status: string }>(
      { _id: { $in: seatIds }, showId }, { projection: { label: 1, status: 1 } }).toArray()
    const known = new Set(seats.map((s) => s._id.toHexString()))
    const unknown = seatIds.map((id) => id.toHexString()).filter((id) => !known.has(id))
    if (unknown.length > 0) return badRequest('UNKNOWN_SEATS', `not seats of this show: ${unknown.join(', ')}`, { seats: unknown })
    const taken = seats.filter((s) => s.status !== 'AVAILABLE').map((s) => s.label)
    return conflict('SEATS_UNAVAILABLE', taken.length > 0 ? `already taken: ${taken.join(', ')}` : 'seats were taken while claiming; try again', { seats: taken })
  }

  async function holdSeats (userId: string, showId: string, request: HoldBody, idempotencyKey?: string): Promise<Booking> {
    const started = performance.now()
    try {
      if (idempotencyKey === undefined) return await holdSeatsNow(userId, showId, request)
      return await holdSeatsIdempotently(userId, showId, request, idempotencyKey)
    } finally {
      metrics.holdLatency.observe((performance.now() - started) / 1000)
    }
  }

  // ---- Idempotency-Key -----------------------------------------------------------------

  function hashRequest (showId: string, request: HoldBody): string {
    // Ids in canonical (lower-case) form, so the same request in another case is the same request.
    const canonical = 'seatIds' in request ? { seatIds: request.seatIds.map((id) => id.toLowerCase()) } : request
    return createHash('sha256').update(JSON.stringify([showId.toLowerCase(), canonical])).digest('hex')
  }

  async function holdSeatsIdempotently (userId: string, showId: string, request: HoldBody, key: string): Promise<Booking> {
    const requestHash = hashRequest(showId, request)
    const owner = new Types.ObjectId(userId)
    const deadline = Date.now() + IDEMPOTENCY_WAIT_MS
    for (;;) {
      const bookingId = new Types.ObjectId()
      try {
        // The unique (userId, key) index decides which of concurrent repeats does the work.
        const entry = await IdempotencyKey.create({ userId: owner, key, requestHash, state: 'IN_PROGRESS', bookingId, createdAt: new Date() })
        return await answerOnce(entry._id, () => holdSeatsNow(userId, showId, request, bookingId))
      } catch (error) {
        if (!isDuplicateKey(error)) throw error
      }
      const existing = await IdempotencyKey.findOne({ userId: owner, key }).lean()
      if (existing === null) continue
      if (existing.requestHash !== requestHash) {
        throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request')
      }
      if (existing.state === 'DONE') return replay(existing.statusCode ?? 500, existing.response)
      if (existing.state === 'RETRY' || Date.now() - existing.createdAt.getTime() > IDEMPOTENCY_STALE_MS) {
        // The attempt ended without an answer (an error, or its instance died). If it made its
        // booking after all, that booking is the answer: never a second one.
        const made = await Booking.findById(existing.bookingId).lean<BookingDoc>()
        if (made !== null) {
          const booking = toBooking(made)
          await recordAnswer(existing._id, 201, booking)
          return booking
        }
        // Else whoever takes the key over tries again, first giving back what the attempt claimed.
        const retryId = new Types.ObjectId()
        const taken = await IdempotencyKey.findOneAndUpdate(
          { _id: existing._id, state: existing.state, bookingId: existing.bookingId },
          { $set: { state: 'IN_PROGRESS', bookingId: retryId, createdAt: new Date() } }
        ).lean()
        if (taken === null) continue
        await releaseHeldSeats(existing.bookingId)
        return await answerOnce(existing._id, () => holdSeatsNow(userId, showId, request, retryId))
      }
      if (Date.now() > deadline) throw conflict('IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still being processed; retry shortly')
      await sleep(20)
    }
  }

  /**
   * Runs the hold and records its answer (success or a 4xx) for repeats. A failure that is no
   * answer (5xx) marks the entry RETRY. A failure to record only logs: the entry stays
   * IN_PROGRESS and, once stale, a repeat finds the booking by its id.
   */
  async function answerOnce (entryId: Types.ObjectId, hold: () => Promise<Booking>): Promise<Booking> {
    let booking: Booking
    try {
      booking = await hold()
    } catch (error) {
      if (error instanceof AppError && error.statusCode < 500) {
        await recordAnswer(entryId, error.statusCode, error.toBody())
      } else {
        await IdempotencyKey.updateOne({ _id: entryId, state: 'IN_PROGRESS' }, { $set: { state: 'RETRY' } })
          .catch((e: unknown) => log.warn({ err: e }, 'idempotency key not marked for retry; it will be once stale'))
      }
      throw error
    }
    await recordAnswer(entryId, 201, booking)
    return booking
  }

  async function recordAnswer (entryId: Types.ObjectId, statusCode: number, response: Booking | ErrorBody): Promise<void> {
    await IdempotencyKey.updateOne({ _id: entryId }, { $set: { state: 'DONE', statusCode, response } })
      .catch((error: unknown) => log.warn({ err: error }, 'idempotent answer not recorded; a repeat will find the booking'))
  }

  function replay (statusCode: number, response: unknown): Booking {
    if (statusCode === 201) return response as Booking
    const body = response as ErrorBody
    throw new AppError(statusCode, body.code, body.message, body.details)
  }

  // ---- 2. Confirm ----------------------------------------------------------------------

  async function findOwnBooking (userId: string, bookingId: string): Promise<BookingDoc> {
    const doc = await Booking.findOne({ _id: bookingId, userId }).lean<BookingDoc>()
    // Someone else's booking is "not found", never "forbidden": ids must not leak.
    if (doc === null) throw notFound('BOOKING_NOT_FOUND', `booking ${bookingId} does not exist`)
    return doc
  }

  async function confirmBooking (userId: string, bookingId: string, paymentReference?: string): Promise<Booking> {
    // A hold in flight while an admin cancelled its show can land after the show's bookings were
    // cancelled; such a booking must never be confirmed. (Checked before deciding: once the show
    // is CANCELLED, no booking of it can turn CONFIRMED, and the show-cancel sweep of bookings
    // catches every booking that existed before the show turned.)
    const current = await findOwnBooking(userId, bookingId)
    if (current.status === 'PENDING') {
      const show = await Show.findById(current.showId, { status: 1 }).lean<{ status: string }>()
      if (show === null || show.status === 'CANCELLED') {
        await cancelLiveBooking(current._id, current.status)
        throw conflict('INVALID_STATE', 'the show was cancelled; so is this booking')
      }
      const now = new Date()
      // Decided on the booking alone: it races expiry on this one document, so exactly one wins.
      const confirmed = await Booking.findOneAndUpdate(
        { _id: current._id, status: 'PENDING', expiresAt: trusted({ $gt: now }) },
        { $set: { status: 'CONFIRMED', confirmedAt: now, paymentReference: paymentReference ?? null } },
        { returnDocument: 'after', lean: true }
      ) as BookingDoc | null
      if (confirmed !== null) {
        if (crashAt === 'after-confirm') crash()
        // Only the winner moves the seats; a crash before this is rolled forward by the sweep.
        await bookSeats(confirmed._id)
        seatsChanged(confirmed.showId, confirmed.seats.map((s) => s.id), 'BOOKED')
        metrics.confirmations.inc()
        return toBooking(confirmed)
      }
    }
    // Lost (or was never PENDING): answer by what the booking is now.
    const latest = current.status === 'PENDING' ? await findOwnBooking(userId, bookingId) : current
    switch (latest.status) {
      case 'CONFIRMED':
        // Confirming twice answers the same; finish the seats in case the first confirm died half-way.
        await bookSeats(latest._id)
        seatsChanged(latest.showId, latest.seats.map((s) => s.id), 'BOOKED')
        return toBooking(latest)
      case 'PENDING':
        // Past expiresAt and its job has not run yet: settle it now rather than answer with a stale PENDING.
        await expireHold(latest._id)
        throw conflict('HOLD_EXPIRED', 'the hold expired before it was confirmed; the booking has failed')
      case 'FAILED':
        throw conflict('HOLD_EXPIRED', 'the hold expired before it was confirmed; the booking has failed')
      default:
        throw conflict('INVALID_STATE', `a ${latest.status.toLowerCase()} booking cannot be confirmed`)
    }
  }

  async function bookSeats (bookingId: Types.ObjectId): Promise<number> {
    const result = await Seat.updateMany({ bookingId, status: 'HELD' }, { $set: { status: 'BOOKED', heldUntil: null } })
    return result.modifiedCount
  }

  // ---- 3. Expire -----------------------------------------------------------------------

  /** Fails a PENDING booking whose hold has passed and releases its seats; false if it was not due (or already settled). */
  async function expireHold (bookingId: Types.ObjectId): Promise<boolean> {
    const failed = await Booking.findOneAndUpdate(
      { _id: bookingId, status: 'PENDING', expiresAt: trusted({ $lte: new Date() }) },
      { $set: { status: 'FAILED', failureReason: 'EXPIRED' } },
      { projection: { _id: 1, showId: 1, seats: 1 }, lean: true }
    )
    if (failed === null) return false
    // Only the winner of the booking's transition releases its seats.
    await releaseHeldSeats(bookingId)
    seatsChanged(failed.showId, failed.seats.map((s) => s.id), 'AVAILABLE')
    metrics.expirations.inc()
    log.info({ bookingId: bookingId.toString() }, 'hold expired')
    return true
  }

  // ---- 4. Cancel -----------------------------------------------------------------------

  /** Cancels a PENDING or CONFIRMED booking; null if it was in neither state. */
  async function cancelLiveBooking (bookingId: Types.ObjectId, knownStatus?: BookingStatus): Promise<BookingDoc | null> {
    // A few rounds: the booking may be confirmed or expire between reading and deciding.
    // A status the caller just read saves the first round's read.
    for (let round = 0; round < 3; round++) {
      const current = round === 0 && knownStatus !== undefined
        ? { status: knownStatus }
        : await Booking.findById(bookingId, { status: 1 }).lean<{ status: BookingStatus }>()
      if (current === null || (current.status !== 'PENDING' && current.status !== 'CONFIRMED')) return null
      if (current.status === 'CONFIRMED') {
        // Seats first to HELD (with a short grace): if this process dies now, the sweep puts them
        // back to BOOKED (the booking is still CONFIRMED); once the booking is CANCELLED, it frees them.
        await Seat.updateMany({ bookingId, status: 'BOOKED' }, { $set: { status: 'HELD', heldUntil: new Date(Date.now() + CANCEL_GRACE_MS) } })
      }
      const cancelled = await Booking.findOneAndUpdate(
        { _id: bookingId, status: current.status },
        { $set: { status: 'CANCELLED', cancelledAt: new Date() } },
        { returnDocument: 'after', lean: true }
      ) as BookingDoc | null
      if (cancelled === null) continue
      // CANCELLED is final, so every seat it still owns goes back, HELD or BOOKED: a confirm that
      // won just before this cancel may have moved its seats HELD → BOOKED after the step above.
      // Once a seat's bookingId is cleared, a late HELD → BOOKED (conditional on it) matches nothing.
      await Seat.updateMany({ bookingId, status: trusted({ $in: ['HELD', 'BOOKED'] }) }, { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } })
      seatsChanged(cancelled.showId, cancelled.seats.map((s) => s.id), 'AVAILABLE')
      metrics.cancellations.inc()
      return cancelled
    }
    return null
  }

  async function cancelBooking (userId: string, bookingId: string): Promise<Booking> {
    const current = await findOwnBooking(userId, bookingId)
    if (current.status !== 'PENDING' && current.status !== 'CONFIRMED') {
      throw conflict('INVALID_STATE', `a ${current.status.toLowerCase()} booking cannot be cancelled`)
    }
    const show = await Show.findById(current.showId, { startTime: 1 }).lean<{ startTime: Date }>()
    if (show !== null && show.startTime.getTime() <= Date.now()) {
      throw conflict('INVALID_STATE', 'the show has started; its bookings can no longer be cancelled')
    }
    const cancelled = await cancelLiveBooking(current._id, current.status)
    if (cancelled === null) {
      const now = await findOwnBooking(userId, bookingId)
      throw conflict('INVALID_STATE', `a ${now.status.toLowerCase()} booking cannot be cancelled`)
    }
    return toBooking(cancelled)
  }

  /** Cancels every PENDING and CONFIRMED booking of a show (the show is already CANCELLED). */
  async function cancelShowBookings (showId: Types.ObjectId): Promise<number> {
    let count = 0
    for (;;) {
      const live = await Booking.find({ showId, status: trusted({ $in: ['PENDING', 'CONFIRMED'] }) }, { _id: 1 }).limit(500).lean()
      if (live.length === 0) return count
      for (const { _id } of live) if (await cancelLiveBooking(_id) !== null) count++
    }
  }

  // ---- 5. Recovery ---------------------------------------------------------------------

  /**
   * Settles what a crash can leave behind; idempotent, safe on several instances at once.
   * Fails PENDING bookings past expiresAt (their job was lost), then settles every HELD seat
   * whose hold has passed by its booking: CONFIRMED → BOOKED (roll forward); missing, FAILED
   * or CANCELLED → AVAILABLE (roll back).
   */
  async function sweepStaleHolds (): Promise<{ expired: number, settled: number }> {
    const now = new Date()
    let expired = 0
    const overdue = await Booking.find({ status: 'PENDING', expiresAt: trusted({ $lte: now }) }, { _id: 1 }).limit(SWEEP_BATCH).lean()
    for (const { _id } of overdue) if (await expireHold(_id)) expired++

    const stale = await Seat.find({ status: 'HELD', heldUntil: trusted({ $lt: now }) }, { _id: 1, bookingId: 1, showId: 1 })
      .limit(SWEEP_BATCH).lean<Array<{ _id: Types.ObjectId, bookingId: Types.ObjectId | null, showId: Types.ObjectId }>>()
    const byBooking = new Map<string, { bookingId: Types.ObjectId | null, seatIds: Types.ObjectId[] }>()
    for (const seat of stale) {
      const key = seat.bookingId?.toHexString() ?? 'none'
      const group = byBooking.get(key) ?? { bookingId: seat.bookingId, seatIds: [] }
      group.seatIds.push(seat._id)
      byBooking.set(key, group)
    }
    const owners = await Booking.find({ _id: trusted({ $in: [...byBooking.values()].flatMap((g) => g.bookingId ?? []) }) }, { status: 1 })
      .lean<Array<{ _id: Types.ObjectId, status: BookingStatus }>>()
    const statusOf = new Map(owners.map((b) => [b._id.toHexString(), b.status]))

    let settled = 0
    for (const [key, { bookingId, seatIds }] of byBooking) {
      const status = statusOf.get(key)
      // Same conditions as the protocol's own steps, plus heldUntil: a newer hold is never touched.
      const filter = { _id: trusted({ $in: seatIds }), bookingId, status: 'HELD' as const, heldUntil: trusted({ $lt: now }) }
      if (status === 'CONFIRMED') {
        settled += (await Seat.updateMany(filter, { $set: { status: 'BOOKED', heldUntil: null } })).modifiedCount
      } else if (status !== 'PENDING') {
        settled += (await Seat.updateMany(filter, { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } })).modifiedCount
      }
    }
    if (settled > 0) {
      for (const showId of new Set(stale.map((s) => s.showId.toHexString()))) seatsChanged(new Types.ObjectId(showId))
      metrics.recoveries.inc(settled)
      log.warn({ settled }, 'recovery sweep settled stale seats')
    }
    return { expired, settled }
  }

  // ---- Reading -------------------------------------------------------------------------

  async function getBooking (userId: string, bookingId: string): Promise<Booking> {
    return toBooking(await findOwnBooking(userId, bookingId))
  }

  async function listBookings (filter: { userId?: string, showId?: string }, query: BookingQuery): Promise<Page<Booking>> {
    const where: Record<string, unknown> = {}
    if (filter.userId !== undefined) where.userId = new Types.ObjectId(filter.userId)
    if (filter.showId !== undefined) where.showId = new Types.ObjectId(filter.showId)
    if (query.status !== undefined) where.status = query.status
    const [docs, total] = await Promise.all([
      Booking.find(where).sort({ createdAt: -1, _id: -1 }).skip(query.offset).limit(query.limit).lean<BookingDoc[]>(),
      Booking.countDocuments(where)
    ])
    return { items: docs.map(toBooking), total, limit: query.limit, offset: query.offset }
  }

  return {
    holdSeats, confirmBooking, cancelBooking, expireHold, sweepStaleHolds,
    cancelShowBookings, getBooking, listBookings
  }
}
export type BookingService = ReturnType<typeof createBookingService>
