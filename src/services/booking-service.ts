/**
 * The booking protocol, built only on single-document atomic updates (no transactions), as it
 * runs; every seat change is conditional on the state (and booking) it expects.
 *
 * 1. Hold: the show must be SCHEDULED and not started; the booking id is made first; seats are
 *    claimed one at a time in id order (AVAILABLE → HELD for that booking); if one claim loses,
 *    exactly the claimed seats are released (409); only then is `expire-hold` scheduled and the
 *    booking written PENDING (expiresAt = heldUntil): the job first, so no written booking lacks one
 *    (a job whose booking was never written frees the seats still HELD for it once they lapse).
 * 2. Confirm: a live PENDING booking whose show is cancelled (or gone) or has started is
 *    cancelled instead, its seats freed (409 SHOW_NOT_BOOKABLE); otherwise PENDING ∧
 *    expiresAt > now → CONFIRMED on the booking alone, and only the winner moves its seats
 *    HELD → BOOKED.
 * 3. Expire: PENDING ∧ expiresAt ≤ now → FAILED on the booking alone; only the winner frees its seats.
 * 4. Cancel: a CONFIRMED booking's seats first go BOOKED → HELD (short grace), then the booking
 *    turns CANCELLED, then every seat it still owns, HELD or BOOKED, goes AVAILABLE.
 * 5. Recovery: a sweep fails overdue PENDING bookings and settles stale HELD seats by their
 *    booking (CONFIRMED → BOOKED; missing, FAILED or CANCELLED → AVAILABLE).
 * 6. Extend: the booking's HELD seats' heldUntil first, then a new `expire-hold`, then the booking
 *    (PENDING ∧ expiresAt > now ∧ extensions < max): a crash between leaves seats held longer than
 *    their booking, never a PENDING booking whose seats may be freed, nor one without a job at its end.
 * 7. Best available: a choice from the served seat map, claimed as in step 1; a lost claim is
 *    compensated, its seat excluded and the choice made again (at random among the best few blocks),
 *    a few times within a time budget, then from fresh reads; a 409 only from a fresh read (shared,
 *    at most 250 ms older than the request, begun after its last lost race) with nothing suitable.
 */
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Types, trusted } from 'mongoose'
import type { FastifyBaseLogger } from 'fastify'
import type { Models } from '../models/index.js'
import { cancelBookingFrom, confirmBookingIfLive, expireBookingIfDue, expireBookingsIfDue, extendBookingIfLive, fenceAbandonedBooking, insertPendingBooking, type BookingRecord, type BookingStatus } from '../models/booking.js'
import { bookSeats, claimSeat, extendHeldSeats, lapsedSeatsOf, shortenHeldSeats, freeSeatsOf, releaseHeldSeats, releaseSeatsOfSettled, settleStaleSeats, unbookSeats, type SeatStatus } from '../models/seat.js'
import { categoriesOf, STANDARD_CATEGORY } from '../models/show.js'
import { AppError, badRequest, conflict, notFound, unavailable } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { OBJECT_ID, type Page } from '../schemas/common.js'
import type { Booking, BookingQuery, HoldBody } from '../schemas/booking.js'
import type { Idempotency } from './idempotency.js'
import type { KnownSeats, SeatMapCache } from './seat-map-cache.js'
import type { BookableShowCache, BookableShowDoc, SeatIndex } from './bookable-show-cache.js'
import { reachedFaultPoint } from './fault-points.js'
import { databaseFault, isDuplicateKey } from './mongo-errors.js'
import { chooseBestAvailable } from './best-available.js'

/** What a booking says of its show (API.md: saves a client one request per booking). */
type ShowSummary = Booking['show']
interface ShowSummaryRecord { _id: Types.ObjectId, name: string, type: ShowSummary['type'], venue?: string | null, startTime: Date }
/** The fields a show summary is read with: added to the show reads the protocol makes anyway. */
const SUMMARY_FIELDS = { name: 1, type: 1, venue: 1, startTime: 1 } as const

function toSummary (show: ShowSummaryRecord): ShowSummary {
  return { name: show.name, type: show.type, venue: show.venue ?? null, startTime: show.startTime.toISOString() }
}

/** The summary of a booking's show, read beforehand; a booking's show always exists (see withShows). */
function summaryOf (booking: BookingRecord, show: ShowSummaryRecord | null): ShowSummary {
  if (show === null) throw new Error(`booking ${booking._id.toHexString()}: its show ${booking.showId.toHexString()} does not exist`)
  return toSummary(show)
}

/** Why a booking of this show can no longer be confirmed, if it cannot (API.md: 409 SHOW_NOT_BOOKABLE). */
function showRefusesConfirm (show: { status: string, startTime: Date } | null, now: number): string | undefined {
  if (show === null || show.status === 'CANCELLED') return 'the show was cancelled'
  if (show.startTime.getTime() <= now) return 'the show has started'
  return undefined
}

function toBooking (doc: BookingRecord, show: ShowSummary): Booking {
  // Bookings made before categories carry neither per seat: STANDARD, the total shared evenly (it was price × seats).
  const evenShare = doc.seats.length > 0 ? Math.round(doc.totalPriceCents / doc.seats.length) : 0
  return {
    id: doc._id.toString(),
    showId: doc.showId.toString(),
    show,
    userId: doc.userId.toString(),
    status: doc.status,
    seats: doc.seats.map((s) => ({ id: s.id.toString(), label: s.label, category: s.category ?? STANDARD_CATEGORY, priceCents: s.priceCents ?? evenShare })),
    totalPriceCents: doc.totalPriceCents,
    expiresAt: doc.expiresAt.toISOString(),
    extensions: doc.extensions ?? 0,
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
/**
 * Seats HELD for a booking that does not exist are freed only this long after their heldUntil:
 * the hold's insert may still be in flight, and a hold whose insert returns after heldUntil
 * fails itself (writePending). A job that found no booking frees seats only after a look at a
 * clock at least heldUntil + this; an insert landing after that look returns later still, on an
 * instance whose clock then reads past heldUntil unless the clocks differ by more than this.
 */
const LATE_WRITE_GRACE_MS = 1000
/** How many stale bookings or seats one sweep settles; the next sweep takes the rest. */
const SWEEP_BATCH = 1000
/** Show cancels cut short that one sweep finishes (each may be thousands of bookings). */
const SHOW_CANCELS_PER_SWEEP = 5
/** How often a show cancel at work tells the sweep so (well inside CANCEL_GRACE_MS). */
const SHOW_CANCEL_RENEW_MS = 2000
/** How many overdue bookings the sweep expires at once (two round trips each). */
const SWEEP_PARALLEL = 32
/**
 * How many overdue bookings one bulk expiry pass takes (four round trips whatever the number).
 * Under a saturated service each round trip waits its turn behind the requests: with 200, 2,000
 * holds lapsing within 4.5 s outran passes of 200 that took 0.5–0.8 s each, and the lag grew to
 * 3.5 s. A thousand keeps each write's `$in` small for the database (a few thousand keys).
 */
const BULK_EXPIRY_BATCH = 1000
/** How many bookings this instance remembers having expired in bulk (their own jobs then skip their work). */
const SETTLED_MEMORY = 20_000
/**
 * How hard one best-available request tries before its answer is decided by a fresh read (see
 * holdBestAvailable). Exported so that tests can lift the time budgets: their counts then do not
 * depend on how fast a loaded machine runs.
 */
export const bestAvailableLimits = {
  /** Lost races with choices from the served map: this many in all... */
  tries: 16,
  /** ...of which this many whatever the time (on a loaded machine one round of claims can take a second)... */
  sureTries: 10,
  /**
   * ...and the rest within this long of the first lost race (also how long a request waits for this
   * instance's other claims, from arrival): a request is not left to spin under contention. From the
   * first loss, not from arrival, so time spent queued on a loaded instance does not cut the retries short.
   */
  budgetMs: 2000,
  /**
   * ...and none once this long has passed since the request arrived, whatever their count: past
   * it the answer is decided on fresh reads (below). Without it, ten rounds of claims on a loaded
   * service took best-available requests to a p99 of 14 s in the bench's best-available sale.
   */
  deadlineMs: 3000,
  /**
   * Then up to this many more lost races, each choice made from a fresh read (a full read of the
   * show's seats: in a best-available flash sale, 8 of them per request cut the throughput
   * tenfold)...
   */
  finalTries: 2,
  /** ...within this long of the tries running out; then a last fresh read decides: 409 or 503 OVERLOADED. */
  finalBudgetMs: 1000,
  /** How long the last look waits for this instance's claims of the only suitable seats to settle. */
  lastLookWaitMs: 1000
}
/** Choices from fresh reads are made at random among this many of the best blocks (every instance reads the same seats). */
const BEST_AVAILABLE_FINAL_SPREAD = 256
/** Choosing again after a lost race: at random among this many of the best non-overlapping blocks, doubled after each further loss... */
const BEST_AVAILABLE_SPREAD = 4
/** ...up to this many. */
const BEST_AVAILABLE_SPREAD_MAX = 32
/**
 * A 409 is answered from a seat map read at most this long before the request arrived (this
 * instance's own changes applied since): fresh enough to be the truth of the moment, old enough
 * that a crowd finding a sold-out show shares a few database reads instead of queueing one each.
 */
const BEST_AVAILABLE_REFUSAL_READ_AGE_MS = 250
/** How long a lost claim is remembered: longer than any served seat map is old (1 s). */
const BEST_AVAILABLE_LOSS_MEMORY_MS = 2000
/**
 * A named hold is refused from this instance's seat map, without a claim, for a seat it shows
 * BOOKED, or HELD with at least this long left of its hold: no expiry can free it meanwhile on any
 * instance whose clock is within this of ours (the bound LATE_WRITE_GRACE_MS assumes too). Only a
 * cancel or a compensation elsewhere can, and the map shows those within its freshness (1 s).
 */
const KNOWN_HELD_MARGIN_MS = 1000
/**
 * How long after a claim was sent other claims of the same seat on this instance wait for it to
 * come back (takenByClaimHere: claimTurn, and a hold of several seats before it claims any); then
 * they are sent alongside, as if there were none: a stalled claim (a slow database, an attempt an
 * Idempotency-Key repeat takes over) must not hold up the seat's other holds for longer, however
 * many times a hold looks at it.
 */
const SEAT_CLAIM_WAIT_MS = 500

export interface BookingServiceOptions {
  models: Models
  metrics: Metrics
  log: FastifyBaseLogger
  /** This instance's seat maps: told at once of every seat this service changes. */
  seatMaps: SeatMapCache
  /** Idempotency-Key replay for holds. */
  idempotency: Idempotency
  /** The hold path's memory of shows: the show document (short-lived) and its seat index (kept). */
  bookableShows: BookableShowCache
  /** Asks the scheduler to run `expire-hold` for this booking at `at` (an Agenda job). */
  scheduleExpiry: (bookingId: Types.ObjectId, at: Date) => Promise<void>
  /** MAX_HOLD_EXTENSIONS: how many times one hold may be extended. */
  maxHoldExtensions: number
}

type BookableShow = BookableShowDoc
type ClaimedSeat = BookingRecord['seats'][number]
type BestAvailableBody = Extract<HoldBody, { quantity: number }>
/** A seat's claim at the database (see claimTurn). */
interface SeatTurn { settled: Promise<boolean>, sentAt: number, freed: number, seatFreed: number }
interface ShowTurns { seats: Map<string, SeatTurn>, waiters: number, freed: number, freedSeats: Map<string, number> }

/**
 * The seats best-available requests of one show are claiming on this instance, counted: two
 * requests may claim the same seat (racing past the wait for each other), and the first to finish
 * must not take the other's seat off the list. Kept while any request of the show uses it.
 */
class ClaimingSeats {
  private readonly counts = new Map<string, number>()
  requests = 0
  get size (): number { return this.counts.size }
  has (id: string): boolean { return this.counts.has(id) }
  add (id: string): void { this.counts.set(id, (this.counts.get(id) ?? 0) + 1) }
  delete (id: string): void {
    const n = this.counts.get(id) ?? 0
    if (n > 1) this.counts.set(id, n - 1)
    else this.counts.delete(id)
  }
}

export function createBookingService ({ models, metrics, log, seatMaps, idempotency, bookableShows, scheduleExpiry, maxHoldExtensions }: BookingServiceOptions) {
  const { Show, Seat, Booking } = models

  /** Tells the seat-map cache: these seats of the show are now `status` (HELD: until `heldUntil`); without a list: some changed. */
  function seatsChanged (showId: Types.ObjectId, seatIds?: Types.ObjectId[], status?: SeatStatus, heldUntil?: Date): void {
    // Seats of the show may have been freed here: a claim of one already back is no longer proof it is taken (claimTurn).
    const turns = status !== 'HELD' && status !== 'BOOKED' ? seatClaims.get(showId.toHexString()) : undefined
    if (turns !== undefined && seatIds === undefined) turns.freed++
    else if (turns !== undefined && seatIds !== undefined) {
      for (const id of seatIds) {
        const key = id.toHexString()
        turns.freedSeats.set(key, (turns.freedSeats.get(key) ?? 0) + 1)
      }
    }
    if (status === 'AVAILABLE' && seatIds !== undefined) {
      // Freed here (a give-back, a cancel, an expiry): a race lost for one of them no longer says it is taken.
      const lost = lostClaims.get(showId.toHexString())
      if (lost !== undefined) for (const id of seatIds) lost.delete(id.toHexString())
    }
    if (seatIds !== undefined && status !== undefined) seatMaps.apply(showId.toHexString(), seatIds.map((id) => id.toHexString()), status, heldUntil?.getTime())
    else seatMaps.invalidate(showId.toHexString())
  }

  /** The summaries of these shows, in one read (a page of bookings names at most a page of shows). */
  async function showSummaries (showIds: Types.ObjectId[]): Promise<Map<string, ShowSummary>> {
    const unique = [...new Set(showIds.map((id) => id.toHexString()))].map((id) => new Types.ObjectId(id))
    if (unique.length === 0) return new Map()
    const shows = await Show.collection.find<ShowSummaryRecord>({ _id: { $in: unique } }, { projection: SUMMARY_FIELDS }).toArray()
    return new Map(shows.map((show) => [show._id.toHexString(), toSummary(show)]))
  }

  /** Bookings with their show summaries; a booking's show always exists (only a show whose creation failed is deleted, before any hold). */
  async function withShows (docs: BookingRecord[]): Promise<Booking[]> {
    const summaries = await showSummaries(docs.map((doc) => doc.showId))
    return docs.map((doc) => {
      const summary = summaries.get(doc.showId.toHexString())
      if (summary === undefined) throw new Error(`booking ${doc._id.toHexString()}: its show ${doc.showId.toHexString()} does not exist`)
      return toBooking(doc, summary)
    })
  }

  // ---- 1. Hold -------------------------------------------------------------------------

  async function holdSeats (userId: string, showId: string, request: HoldBody, idempotencyKey?: string): Promise<Booking> {
    const started = performance.now()
    try {
      if (idempotencyKey === undefined) return await holdSeatsNow(userId, showId, request)
      return await idempotency.once(userId, idempotencyKey, {
        requestHash: hashHold(showId, request),
        successStatus: 201,
        // The attempt's id is the booking's id, so an attempt that gave no answer is found by it.
        attempt: async (bookingId) => await holdSeatsNow(userId, showId, request, bookingId),
        madeBy: madeByAttempt,
        madeNothing: (error) => error instanceof Error && madeNothing.has(error),
        undo: async (bookingId) => {
          // Fence first: an insert of the abandoned attempt still in flight then fails on the
          // duplicate id (writePending answers 503) instead of landing after its seats went back.
          const fenced = await fenceAbandonedBooking(Booking, { _id: bookingId, showId: new Types.ObjectId(showId), userId: new Types.ObjectId(userId) })
          if (!fenced) {
            const landed = await madeByAttempt(bookingId)
            if (landed !== null) return landed
          }
          try {
            if (await releaseHeldSeats(Seat, bookingId) > 0) seatsChanged(new Types.ObjectId(showId))
          } finally {
            noteGivenBack(bookingId)
          }
          return null
        }
      })
    } finally {
      metrics.holdLatency.observe((performance.now() - started) / 1000)
    }
  }

  /** What a hold attempt made: its booking, unless FAILED (a FAILED booking holds nothing: no answer to replay as 201). */
  async function madeByAttempt (bookingId: Types.ObjectId): Promise<Booking | null> {
    const made = await Booking.findById(bookingId).lean<BookingRecord>()
    return made === null || made.status === 'FAILED' ? null : (await withShows([made]))[0]
  }

  async function holdSeatsNow (userId: string, showId: string, request: HoldBody, bookingId = new Types.ObjectId()): Promise<Booking> {
    // Only a scheduled show that has not started takes holds.
    const show = await findBookableShow(showId)
    // All or nothing: each claimed seat names this booking, so even a crash leaves it to the sweep.
    const seats = 'quantity' in request
      ? await holdBestAvailable(show, request, bookingId)
      : await holdNamedSeats(show, request, bookingId)
    const heldUntil = seats.heldUntil
    reachedFaultPoint('after-claims')
    // Written only once every seat is held: a PENDING booking always owns all its seats.
    const booking = await writePending(show, userId, bookingId, seats.claimed, heldUntil)
    metrics.holds.inc()
    // The show was read to check it is bookable: its summary costs no extra round trip.
    return toBooking(booking, toSummary(show))
  }

  /**
   * The show from this instance's memory (bookableShows: at most SHOW_CACHE_MAX_AGE_MS old, and
   * invalidated at once by changes made here): no round trip for most holds. The start time is
   * still compared with the clock on every hold; confirm reads the show itself.
   */
  async function findBookableShow (showId: string): Promise<BookableShow> {
    const show = await bookableShows.show(new Types.ObjectId(showId))
    if (show === null) throw notFound('SHOW_NOT_FOUND', `show ${showId} does not exist`)
    if (show.status !== 'SCHEDULED') throw conflict('SHOW_NOT_BOOKABLE', 'the show is cancelled')
    if (show.startTime.getTime() <= Date.now()) throw conflict('SHOW_NOT_BOOKABLE', 'the show has started')
    return show
  }

  /**
   * Seats named by id or label: claimed in a fixed order (by id), so two competing holds collide on
   * their first shared seat. A seat this instance knows is taken (its seat map, see refusedFromMemory)
   * refuses the hold before any claim; every 201 still comes from claims.
   */
  async function holdNamedSeats (show: BookableShow, request: Exclude<HoldBody, BestAvailableBody>, bookingId: Types.ObjectId): Promise<{ claimed: ClaimedSeat[], heldUntil: Date }> {
    const { seatIds, index } = await resolveSeats(show._id, request)
    const showKey = show._id.toHexString()
    const known = seatMaps.known(showKey)
    if (known !== undefined) {
      const refusal = refusedFromMemory(known, seatIds, index)
      if (refusal !== undefined) {
        seatMaps.refreshIfStale(showKey)
        metrics.conflicts.inc()
        metrics.refusedFromMemory.inc()
        throw refusal
      }
    }
    const heldUntil = new Date(Date.now() + show.holdSeconds * 1000)
    const claim = await claimAll(show, seatIds, bookingId, heldUntil)
    if ('claimed' in claim) return { claimed: claim.claimed, heldUntil }
    metrics.conflicts.inc()
    throw await explainRefusal(show._id, seatIds, claim, index)
  }

  /**
   * A 409 from this instance's seat map alone, when it shows one of the seats BOOKED, or HELD with
   * more than KNOWN_HELD_MARGIN_MS of its hold left (a HELD seat whose end it does not know, or
   * that is about to lapse, is claimed: the claim decides). The map is the one GET /seats serves
   * here, so such a 409 is never staler than that map (1 s). It names every requested seat the map
   * shows taken.
   */
  function refusedFromMemory (known: KnownSeats, seatIds: Types.ObjectId[], index: SeatIndex): AppError | undefined {
    const now = Date.now()
    const ids = seatIds.map((id) => id.toHexString())
    if (!ids.some((id) => surelyTaken(known, id, now))) return undefined
    const taken = ids.filter((id) => { const status = known.statusOf(id); return status !== undefined && status !== 'AVAILABLE' })
    return seatsUnavailable(taken.map((id) => index.labelOfId.get(id) ?? id))
  }

  /** The map shows the seat BOOKED, or HELD with more than KNOWN_HELD_MARGIN_MS of its hold left: a claim would lose. */
  function surelyTaken (known: KnownSeats, seatId: string, now: number): boolean {
    const status = known.statusOf(seatId)
    if (status === 'BOOKED') return true
    const until = status === 'HELD' ? known.heldUntilOf(seatId) : undefined
    return until !== undefined && until - now > KNOWN_HELD_MARGIN_MS
  }

  /**
   * Per show: per seat, the claim of that seat this instance has at the database right now (its
   * `settled` is true once it came back, won or lost, the outcome in the seat map; false if it
   * failed), when it was sent, and the counts of frees as they were then: while claims or
   * waiters are here, `freedSeats` counts the times this instance freed each seat of the show
   * (seatsChanged with the seats listed), `freed` the changes it could not list.
   */
  const seatClaims = new Map<string, ShowTurns>()

  function dropIfIdle (showKey: string, turns: ShowTurns): void {
    if (turns.seats.size === 0 && turns.waiters === 0 && seatClaims.get(showKey) === turns) seatClaims.delete(showKey)
  }

  /**
   * Whether a claim of the seat this instance has at the database right now proves it taken: waits
   * for that claim (until SEAT_CLAIM_WAIT_MS after it was sent); it proves it if it came back (won
   * or lost), was sent less than SEAT_CLAIM_WAIT_MS ago, and this instance has not freed the seat
   * (or made changes to the show it could not list) since it was sent: the seat was taken when the database
   * decided it, a moment ago (the same bound as a refusal from the seat map, fresher). No such
   * claim, a claim that failed, a wait that ran out, seats freed here meanwhile (an
   * Idempotency-Key take-over giving back the very seat a stalled claim won, a cancel): no proof.
   */
  async function takenByClaimHere (showKey: string, seatKey: string): Promise<boolean> {
    const waitingOn = seatClaims.get(showKey)
    const pending = waitingOn?.seats.get(seatKey)
    if (waitingOn === undefined || pending === undefined) return false
    // Past SEAT_CLAIM_WAIT_MS from its sending a claim proves nothing: not waited for (again).
    const budget = pending.sentAt + SEAT_CLAIM_WAIT_MS - performance.now()
    if (budget <= 0) return false
    // Kept while this waiter looks at it, so frees meanwhile are counted where it looks.
    waitingOn.waiters++
    let timer: NodeJS.Timeout | undefined
    const gaveUp = new Promise<'gave up'>((resolve) => { timer = setTimeout(resolve, budget, 'gave up').unref() })
    try {
      const cameBack = await Promise.race([pending.settled, gaveUp]) === true
      const freedSince = waitingOn.freed !== pending.freed || (waitingOn.freedSeats.get(seatKey) ?? 0) !== pending.seatFreed
      return cameBack && !freedSince && performance.now() - pending.sentAt < SEAT_CLAIM_WAIT_MS
    } finally {
      clearTimeout(timer)
      waitingOn.waiters--
      dropIfIdle(showKey, waitingOn)
    }
  }

  /**
   * A claim's turn at its seat. While another claim of the seat by this instance is at the
   * database, waits for it: if it proves the seat taken (takenByClaimHere), this claim loses
   * without a round trip (null). Otherwise marks this claim as the seat's and returns the function
   * that ends it, told whether the claim came back (call it once, always, after the map has the
   * outcome).
   */
  async function claimTurn (showKey: string, seatKey: string): Promise<((cameBack: boolean) => void) | null> {
    // Only when a claim is out: with none, no await comes between this look and the marking below.
    if (seatClaims.get(showKey)?.seats.has(seatKey) === true && await takenByClaimHere(showKey, seatKey)) return null
    // No await from here until the claim is marked.
    let turns = seatClaims.get(showKey)
    if (turns === undefined) {
      turns = { seats: new Map(), waiters: 0, freed: 0, freedSeats: new Map() }
      seatClaims.set(showKey, turns)
    }
    const mine = turns
    let settle!: (cameBack: boolean) => void
    const turn: SeatTurn = { settled: new Promise<boolean>((resolve) => { settle = resolve }), sentAt: performance.now(), freed: mine.freed, seatFreed: mine.freedSeats.get(seatKey) ?? 0 }
    mine.seats.set(seatKey, turn)
    return (cameBack) => {
      if (mine.seats.get(seatKey) === turn) mine.seats.delete(seatKey)
      dropIfIdle(showKey, mine)
      settle(cameBack)
    }
  }

  /**
   * Bookings whose seats this instance gave back while claims of theirs may still be at the
   * database (an Idempotency-Key repeat taking over a stalled attempt), and when the give-back
   * came back (performance.now()): a claim of such a booking sent before that moment that comes
   * back won after it may have landed before the give-back, so its win is not put in the map
   * (claimAll; a win that came back earlier was patched into a map the give-back's unlisted
   * change then invalidated). Kept ten minutes, at most 10,000 (take-overs are rare). A seat
   * freed for any other booking cannot undo a claim of this one, so other frees do not count.
   */
  const givenBack = new Map<string, number>()

  function noteGivenBack (bookingId: Types.ObjectId): void {
    const now = performance.now()
    for (const [key, at] of givenBack) {
      if (at > now - 600_000 && givenBack.size < 10_000) break
      givenBack.delete(key)
    }
    const key = bookingId.toHexString()
    givenBack.delete(key)
    givenBack.set(key, now)
  }

  /** Failures known to have written nothing (every claim given back, no job, no booking). */
  const madeNothing = new WeakSet<Error>()

  /** Seat ids chosen by best-available requests of this instance still claiming, per show: others choose around them. */
  const choosing = new Map<string, ClaimingSeats>()
  /**
   * Seats whose claim lost a race on this instance, per show, and when: taken by someone else more
   * recently than a map read before that moment says, so every request here chooses around them
   * until the map is read again (another instance's hold is not this instance's change to patch in).
   */
  const lostClaims = new Map<string, Map<string, number>>()

  function lostClaimsOf (showKey: string): Map<string, number> {
    let lost = lostClaims.get(showKey)
    if (lost === undefined) {
      if (lostClaims.size >= 1000) lostClaims.clear()
      lost = new Map()
      lostClaims.set(showKey, lost)
    }
    return lost
  }

  /** Best-available requests waiting for this instance's claims on a show to settle (see holdBestAvailable). */
  const waiting = new Map<string, Array<() => void>>()

  /** Resolves when a claim of this instance on the show settles (won or lost), or at the deadline. */
  async function claimsSettled (showKey: string, deadline: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const list = waiting.get(showKey) ?? []
      const wake = (): void => { clearTimeout(timer); resolve() }
      // At the deadline it leaves the queue, so a later wake goes to a waiter still there.
      const timer = setTimeout(() => {
        const i = list.indexOf(wake)
        if (i >= 0) list.splice(i, 1)
        if (list.length === 0 && waiting.get(showKey) === list) waiting.delete(showKey)
        resolve()
      }, Math.max(0, deadline - Date.now()))
      list.push(wake)
      waiting.set(showKey, list)
    })
  }

  /**
   * A claim on the show settled: one waiter looks again (a settled claim frees at most its own
   * seats, so waking every waiter would only have them all choose again for nothing); when no claim
   * is left in flight every waiter does, since none will settle to wake them.
   */
  function wakeWaiters (showKey: string, inFlight: ClaimingSeats): void {
    const list = waiting.get(showKey)
    if (list === undefined) return
    const woken = inFlight.size === 0 ? list.splice(0) : list.splice(0, 1)
    if (list.length === 0) waiting.delete(showKey)
    for (const wake of woken) wake()
  }

  function noteLostClaim (showKey: string, seatId: string): void {
    const lost = lostClaimsOf(showKey)
    const now = Date.now()
    // Older than any map still served (SEAT_MAP hard max age is 1 s): no longer needed.
    if (lost.size >= 256) for (const [id, at] of lost) if (at < now - BEST_AVAILABLE_LOSS_MEMORY_MS) lost.delete(id)
    lost.set(seatId, now)
  }

  /**
   * Best available (step 7): a choice, not a lock. The seats chosen from the served seat map (this
   * instance's own changes applied at once) are claimed exactly as named seats are. When a claim
   * loses, the claims are compensated, the seat that lost is excluded, and the choice is made again
   * from the served map, at random among the best few blocks (so requests on several instances
   * reading the same map stop picking the same block), more blocks after each loss. When the served
   * map has nothing left, the map is read afresh, one read shared by every request that needs it
   * (through the cache); a 409 is answered only from such a read. When the tries or the time budget
   * run out, each further choice is made from a fresh read, and if a few of those lose their races
   * too, the answer is 503 OVERLOADED (contention, not a lack of seats). Seats other requests here
   * are claiming are waited for, not raced.
   */
  async function holdBestAvailable (show: BookableShow, request: BestAvailableBody, bookingId: Types.ObjectId): Promise<{ claimed: ClaimedSeat[], heldUntil: Date }> {
    const { quantity, category } = request
    const adjacent = request.adjacent ?? true
    const names = categoriesOf(show).map((c) => c.name)
    if (category !== undefined && !names.includes(category)) {
      throw badRequest('UNKNOWN_CATEGORY', `the show has no category ${category}; it has ${names.join(', ')}`, { category, categories: names })
    }
    const showKey = show._id.toHexString()
    const inFlight = choosing.get(showKey) ?? new ClaimingSeats()
    choosing.set(showKey, inFlight)
    const lost = lostClaimsOf(showKey)
    const arrived = Date.now()
    // Waiting for this instance's claims is bounded from arrival; choosing again after lost races from the first loss.
    let waitUntil = arrived + bestAvailableLimits.budgetMs
    let retryUntil = Infinity
    let losses = 0
    // Lost races after the tries ran out, each choice then made from a fresh read, until finalUntil.
    let finalLosses = 0
    let finalUntil: number | undefined
    // Set when the next fresh read only decides the answer (409 or 503), with no choice claimed.
    let lastLook = false
    const rules = { quantity, category, adjacent, rowPreference: show.rowPreference ?? [] }
    let available: number
    const kind = (): string => `${adjacent ? 'adjacent ' : ''}${category !== undefined ? `${category} ` : ''}seats`
    // Counted where the finally below uncounts it: nothing can throw between.
    inFlight.requests++
    try {
      // When set, the next choice needs a map read from the database no earlier than this.
      let freshSince: number | undefined
      let lastLossAt: number | undefined
      for (;;) {
        // The served map (at most ~1 s old, this instance's changes in it); a fresh read (one shared
        // by every request that needs it) once it has nothing left, or once the tries have run out.
        const fresh = freshSince !== undefined
        const read = freshSince !== undefined ? await seatMaps.freshSeats(showKey, freshSince) : await seatMaps.seats(showKey)
        // Seats lost since this map was read are taken, whatever it says; so are seats other requests here are claiming.
        // (A loss in the read's own millisecond is taken as in the read: at worst one more lost race,
        // where the other way a fresh read just after a loss would hide a seat that is free, and a
        // 409 could be answered with seats free.)
        const lostSinceRead = { has: (id: string) => (lost.get(id) ?? -Infinity) > read.observedAt }
        const excluded = { has: (id: string) => inFlight.has(id) || lostSinceRead.has(id) }
        // Wider after each loss: requests on other instances are choosing among the same best blocks.
        const spread = finalUntil !== undefined
          ? BEST_AVAILABLE_FINAL_SPREAD
          : losses === 0 ? 1 : Math.min(BEST_AVAILABLE_SPREAD_MAX, BEST_AVAILABLE_SPREAD << (losses - 1))
        let choice = chooseBestAvailable(read.seats, { ...rules, exclude: excluded, spread })
        if (choice.seatIds === null && inFlight.size > 0) {
          // Nothing left around the seats other requests here are claiming; among them, maybe.
          choice = chooseBestAvailable(read.seats, { ...rules, exclude: lostSinceRead, spread })
          // If so, rather than race those claims, wait until one settles (its outcome is then in
          // the served map) and look again: that costs no try. Past the time budget, race them.
          if (choice.seatIds !== null && Date.now() < waitUntil) {
            await claimsSettled(showKey, waitUntil)
            // A fresh look is one begun after they settled.
            if (fresh) freshSince = Date.now()
            continue
          }
        }
        available = choice.available
        if (choice.seatIds === null) {
          // Nothing suitable: final only from a read begun at most BEST_AVAILABLE_REFUSAL_READ_AGE_MS
          // before this request arrived, and after its last loss (a read under way since then is
          // joined, not repeated: when a crowd finds a sold-out show, the crowd shares a few reads).
          // The step to that read costs no try.
          if (fresh) break
          freshSince = lastLossAt ?? arrived - BEST_AVAILABLE_REFUSAL_READ_AGE_MS
          continue
        }
        if (lastLook) {
          // Suitable seats free by a read begun after the last loss, and no more tries or time:
          // contention, not "no seats" (a 409 would say they are not there). Answered as load
          // shedding is; a retry can succeed. Every claim was given back and nothing else was
          // written: an Idempotency-Key is released (madeNothing), so a repeat runs afresh and
          // leaves no FAILED booking behind.
          const contended = unavailable('OVERLOADED', `${quantity} ${kind()} are free, but other holds kept taking them first; retry`, 1, { available })
          madeNothing.add(contended)
          throw contended
        }
        const chosen = choice.seatIds
        for (const id of chosen) inFlight.add(id)
        try {
          const seatIds = chosen.map((id) => new Types.ObjectId(id)).sort((a, b) => a.toHexString().localeCompare(b.toHexString()))
          const heldUntil = new Date(Date.now() + show.holdSeconds * 1000)
          const claim = await claimAll(show, seatIds, bookingId, heldUntil)
          if ('claimed' in claim) return { claimed: claim.claimed, heldUntil }
          lastLossAt = Date.now()
          if (retryUntil === Infinity) retryUntil = lastLossAt + bestAvailableLimits.budgetMs
          noteLostClaim(showKey, claim.lost.toHexString())
          losses++
        } finally {
          for (const id of chosen) inFlight.delete(id)
          wakeWaiters(showKey, inFlight)
        }
        const triesLeft = losses < bestAvailableLimits.sureTries || (losses < bestAvailableLimits.tries && lastLossAt < retryUntil)
        if (triesLeft && lastLossAt < arrived + bestAvailableLimits.deadlineMs) {
          // Choose again from the served map (it refreshes itself in the background), around the seats
          // lost, among more blocks each time. (A fresh read after a few losses was tried: on a loaded
          // machine the wait for it cost more tries than the stale map did.)
          freshSince = undefined
          continue
        }
        // Out of tries, and every choice came from a map that still showed suitable seats: with
        // instances whose served maps lag each other (up to a second each), or a loaded machine,
        // those can all be seats taken meanwhile. The answer is decided on the truth of now: each
        // choice from here on is made from a read begun after the last loss, and a 409 only when
        // such a read has nothing suitable (API.md: while enough suitable seats are free, a
        // best-available request does not fail). A CI run caught a 409 with 162 seats free.
        // Bounded in tries and in time; the last look is a fresh read too, so a show that sold
        // out with the last lost race is answered 409, not 503.
        finalUntil ??= lastLossAt + bestAvailableLimits.finalBudgetMs
        lastLook = finalLosses++ >= bestAvailableLimits.finalTries || lastLossAt >= finalUntil
        // The last look waits for claims here of the only suitable seats: if they win, the show may be sold out (409).
        if (lastLook) waitUntil = Math.max(waitUntil, Date.now() + bestAvailableLimits.lastLookWaitMs)
        freshSince = lastLossAt
      }
    } finally {
      // Kept while any request of the show uses it: one made anew meanwhile would not see its claims.
      if (--inFlight.requests === 0) choosing.delete(showKey)
    }
    // Only a fresh read with nothing suitable ends the loop.
    metrics.conflicts.inc()
    throw conflict('SEATS_UNAVAILABLE', `${quantity} ${kind()} are not free (${available} free)`, { available })
  }

  /**
   * The seats asked for, by id or label, in claim order; ids or labels that are no seat of the
   * show are a 400, decided from the show's seat index in memory (labels and ids never change),
   * so neither a label lookup nor a claim is spent on them.
   */
  async function resolveSeats (showId: Types.ObjectId, request: Exclude<HoldBody, BestAvailableBody>): Promise<{ seatIds: Types.ObjectId[], index: SeatIndex }> {
    const index = await bookableShows.seats(showId)
    let seatIds: Types.ObjectId[]
    if ('seatIds' in request) {
      seatIds = request.seatIds.map((id) => new Types.ObjectId(id))
      // Ids are hex, case-insensitively: the schema's uniqueItems compares the text.
      if (new Set(seatIds.map((id) => id.toHexString())).size < seatIds.length) {
        throw badRequest('VALIDATION_ERROR', 'body/seatIds must NOT have duplicate items')
      }
      const unknown = seatIds.map((id) => id.toHexString()).filter((id) => !index.labelOfId.has(id))
      if (unknown.length > 0) throw badRequest('UNKNOWN_SEATS', `not seats of this show: ${unknown.join(', ')}`, { seats: unknown })
    } else {
      const unknown = request.seatLabels.filter((l) => !index.idOfLabel.has(l))
      if (unknown.length > 0) throw badRequest('UNKNOWN_SEATS', `not seats of this show: ${unknown.join(', ')}`, { seats: unknown })
      seatIds = request.seatLabels.map((l) => index.idOfLabel.get(l) as Types.ObjectId)
    }
    return { seatIds: seatIds.sort((a, b) => a.toHexString().localeCompare(b.toHexString())), index }
  }

  /**
   * Claims every seat for the booking, one at a time in the order given; if one is not free, gives
   * back exactly what it claimed and says which seat's claim lost. Each seat is priced as it is
   * claimed (seats stored before categories: STANDARD at the show's price).
   *
   * A seat another hold of this instance is claiming right now is not claimed alongside: this
   * claim waits for that one to come back and then, unless seats of the show were freed here
   * meanwhile, loses without a round trip (claimTurn); a seat the map shows surely taken loses
   * without one too. Each seat claimed is in the map at once. In
   * the first second of a sale hundreds of holds for the same front seats arrive together, all
   * past the arrival check (refusedFromMemory) before any claim has landed; this way the losers
   * do not each claim, compensate and explain at the database.
   */
  async function claimAll (show: BookableShow, seatIds: Types.ObjectId[], bookingId: Types.ObjectId, heldUntil: Date): Promise<{ claimed: ClaimedSeat[] } | { lost: Types.ObjectId, untried: Types.ObjectId[] }> {
    const showKey = show._id.toHexString()
    if (seatIds.length > 1) {
      const taken = await seatTakenBeforeClaiming(showKey, seatIds)
      if (taken !== undefined) {
        metrics.claimsSkipped.inc()
        return { lost: taken, untried: seatIds.filter((id) => !id.equals(taken)) }
      }
    }
    const claimed: ClaimedSeat[] = []
    let failure: unknown
    try {
      for (const seatId of seatIds) {
        const seatKey = seatId.toHexString()
        const endTurn = await claimTurn(showKey, seatKey)
        let seat: Awaited<ReturnType<typeof claimSeat>> = null
        if (endTurn === null) {
          metrics.claimsSkipped.inc()
        } else {
          let cameBack = false
          try {
            const known = seatMaps.known(showKey)
            if (known !== undefined && surelyTaken(known, seatKey, Date.now())) {
              metrics.claimsSkipped.inc()
            } else {
              const sentAt = performance.now()
              seat = await claimSeat(Seat, seatId, show._id, bookingId, heldUntil)
              // A win of a booking whose seats this instance gave back since the claim was sent
              // (an Idempotency-Key take-over of this stalled attempt) may be older than that
              // give-back: the map is read again rather than shown HELD (a false 409 for the
              // seat's next holds). Only the map: a win frees nothing (seatsChanged).
              if (seat !== null) {
                if (givenBack.size > 0 && (givenBack.get(bookingId.toHexString()) ?? -Infinity) >= sentAt) seatMaps.invalidate(showKey)
                else seatsChanged(show._id, [seatId], 'HELD', heldUntil)
              }
            }
            cameBack = true
          } finally {
            endTurn(cameBack)
          }
        }
        if (seat === null) break
        claimed.push({ id: seatId, label: seat.label, category: seat.category ?? STANDARD_CATEGORY, priceCents: seat.priceCents ?? show.priceCents })
      }
    } catch (error) {
      failure = error
    }
    if (failure === undefined && claimed.length === seatIds.length) return { claimed }
    // Compensate: only this booking's claims, conditional on it (nothing when the first claim
    // lost). After a failure, the seat whose claim failed too (the next after those claimed): it
    // may still have landed, its reply lost (a standalone does not retry writes, and the driver's
    // retry can fail as well); if it did not, its give-back matches nothing.
    const giveBack = claimed.map((s) => s.id)
    if (failure !== undefined) giveBack.push(seatIds[claimed.length])
    if (giveBack.length > 0) await compensate(show._id, bookingId, giveBack, failure !== undefined)
    if (failure !== undefined) throw failure
    return { lost: seatIds[claimed.length], untried: seatIds.slice(claimed.length + 1) }
  }

  /**
   * Before a hold of several seats claims any: a seat of it that this instance's current seat map
   * shows surely taken, or that a claim of this instance at the database right now proves taken
   * (takenByClaimHere; those claims are waited for together, the first proof ends the wait);
   * undefined if none. Without this look, a hold whose later seat another hold here was claiming
   * would claim its first seats, lose, and give them back: two round trips per seat for nothing,
   * and holds of those seats meanwhile refused for a seat that was only passing through.
   */
  async function seatTakenBeforeClaiming (showKey: string, seatIds: Types.ObjectId[]): Promise<Types.ObjectId | undefined> {
    // The map first (a named hold's arrival check looked at it already; best available's did not).
    const known = seatMaps.known(showKey)
    const now = Date.now()
    if (known !== undefined) for (const id of seatIds) if (surelyTaken(known, id.toHexString(), now)) return id
    const turns = seatClaims.get(showKey)
    const proofs: Array<Promise<Types.ObjectId | undefined>> = []
    for (const id of seatIds) {
      const key = id.toHexString()
      if (turns?.seats.has(key) === true) proofs.push(takenByClaimHere(showKey, key).then((taken) => taken ? id : undefined))
    }
    if (proofs.length === 0) return undefined
    return await new Promise((resolve) => {
      let left = proofs.length
      for (const proof of proofs) {
        void proof.then((id) => {
          left--
          if (id !== undefined || left === 0) resolve(id)
        })
      }
    })
  }

  /**
   * Gives claimed seats back. After a database failure it is not awaited: with the database gone
   * it would only make the caller wait out server selection again, and if it fails the sweep
   * frees these seats at heldUntil anyway (no booking was written).
   */
  async function compensate (showId: Types.ObjectId, bookingId: Types.ObjectId, seatIds: Types.ObjectId[], databaseFailed: boolean): Promise<void> {
    const release = releaseHeldSeats(Seat, bookingId, seatIds)
    if (databaseFailed) {
      // The map is told twice: now (it must not trust what it has), and when the give-back lands
      // (a read between the two finds the seats still HELD for this booking, with their end).
      // Fewer freed than given back: some went back another way (an Idempotency-Key take-over) and
      // may be held again since, or a failed claim had not landed: not patched, re-read.
      release.then((freed) => { if (freed === seatIds.length) seatsChanged(showId, seatIds, 'AVAILABLE'); else seatsChanged(showId) },
        (e: unknown) => log.warn({ err: e, bookingId }, 'compensation failed'))
      seatsChanged(showId)
      return
    }
    // Fewer freed than given back: some went back another way (an Idempotency-Key take-over of
    // this attempt) and may be held again since: not patched AVAILABLE, re-read.
    if (await release === seatIds.length) seatsChanged(showId, seatIds, 'AVAILABLE')
    else seatsChanged(showId)
  }

  /**
   * The 409 of a named hold that lost `lost` (its claim found it taken, or a claim here or the map
   * proved it before), naming the requested seats known taken: `lost`, none it claimed (they were
   * free and are given back), and of those never tried the ones this instance's current seat map
   * shows taken, or, without a current map, what one read of just those seats finds. Unknown ids
   * never get here (resolveSeats refused them from the show's seat index).
   */
  async function explainRefusal (showId: Types.ObjectId, seatIds: Types.ObjectId[], { lost, untried }: { lost: Types.ObjectId, untried: Types.ObjectId[] }, index: SeatIndex): Promise<AppError> {
    const showKey = showId.toHexString()
    // The next refusals of a show in a sale are answered from a current map (refreshIfStale). A
    // show nobody has read the map of here is read too when this hold lost among others of the
    // show still claiming here (the first second of a sale, buyers holding without a map): from
    // then on its losers are refused, and their seats named, without claims or reads of their own.
    // A lone 409 of a quiet show does not read its map. (A show is in seatClaims only while claims
    // or waiters of it are here: dropIfIdle.)
    seatMaps.refreshIfStale(showKey, seatClaims.has(showKey))
    const taken = [lost.toHexString()]
    if (untried.length > 0) {
      const known = seatMaps.known(showKey)
      if (known !== undefined) {
        for (const id of untried) {
          const status = known.statusOf(id.toHexString())
          if (status !== undefined && status !== 'AVAILABLE') taken.push(id.toHexString())
        }
      } else {
        const seats = await Seat.collection.find<{ _id: Types.ObjectId }>(
          { _id: { $in: untried }, showId, status: { $ne: 'AVAILABLE' } }, { projection: { _id: 1 } }).toArray()
        taken.push(...seats.map((s) => s._id.toHexString()))
      }
    }
    // In the request's (claim) order, as labels.
    const takenSet = new Set(taken)
    return seatsUnavailable(seatIds.map((id) => id.toHexString()).filter((id) => takenSet.has(id)).map((id) => index.labelOfId.get(id) ?? id))
  }

  function seatsUnavailable (labels: string[]): AppError {
    return conflict('SEATS_UNAVAILABLE', `already taken: ${labels.join(', ')}`, { seats: labels })
  }

  /** The expiry job, then the PENDING booking; the seats are already held for it. */
  async function writePending (show: BookableShow, userId: string, bookingId: Types.ObjectId, seats: ClaimedSeat[], heldUntil: Date): Promise<BookingRecord> {
    // The job first: a crash after the booking is written can then never leave it without one (only
    // to the sweep); a crash before leaves a job for a booking that does not exist, which frees the
    // seats it finds still HELD for it at heldUntil. If scheduling fails the hold still lapses: the
    // sweep fails overdue PENDING bookings.
    const notScheduled = await scheduleExpiry(bookingId, heldUntil).then(() => undefined, (error: unknown) => error)
    if (notScheduled !== undefined) {
      // The database unreachable or its connection lost, after the driver's own retry: the booking
      // insert would only wait out server selection a second time (a hold in flight when the
      // database died answered after 10 s instead of 3). Nothing was written for this booking
      // (the job at most, whose reply was lost: it finds no booking and frees only seats still
      // HELD for it), so its seats go back now, not awaited, as after a failed claim, and the
      // caller hears 503 DATABASE_UNAVAILABLE.
      if (databaseFault(notScheduled) !== undefined) {
        await compensate(show._id, bookingId, seats.map((s) => s.id), true)
        throw notScheduled
      }
      log.warn({ err: notScheduled, bookingId }, 'expire-hold not scheduled; the sweep will expire it')
    }
    reachedFaultPoint('after-expiry-scheduled')
    // No compensation if this fails: a write whose reply was lost may have landed, and freeing its
    // seats would leave a PENDING booking without them. They stay HELD and expiry (or the sweep)
    // settles them at heldUntil by whether the booking exists.
    const booking = await insertPendingBooking(Booking, {
      _id: bookingId,
      showId: show._id,
      userId: new Types.ObjectId(userId),
      seats,
      // Priced from the seats claimed, each carrying its category's price.
      totalPriceCents: seats.reduce((sum, s) => sum + (s.priceCents ?? show.priceCents), 0),
      expiresAt: heldUntil
    }).catch(async (error: unknown) => {
      if (!isDuplicateKey(error)) throw error
      // Fenced: a repeat with this Idempotency-Key took the attempt over and gave its seats back;
      // any claimed since go back too (the fence is FAILED and owns none).
      // Some may have gone back already (the take-over) and been taken since: not patched, re-read.
      // Re-read even when none went back now: this attempt told the map they are HELD (for it,
      // with its end) when its claims' replies came, which may be after the take-over freed them.
      await releaseHeldSeats(Seat, bookingId, seats.map((s) => s.id))
      seatsChanged(show._id)
      throw unavailable('DATABASE_UNAVAILABLE', 'this attempt was taken over by a repeat with the same Idempotency-Key; nothing is held', 1)
    })
    // Written only after its hold lapsed (a stalled process or database): its seats may already
    // have been freed and taken by someone else, so it must not be answered as held. Fail it now.
    if (Date.now() >= heldUntil.getTime()) {
      await expireHold(bookingId)
      throw unavailable('DATABASE_UNAVAILABLE', 'the hold lapsed before the database recorded it; nothing is held, try again', 1)
    }
    return booking
  }

  /** What makes two hold requests the same request for an Idempotency-Key. */
  function hashHold (showId: string, request: HoldBody): string {
    // Ids in canonical (lower-case) form, so the same request in another case is the same request.
    // Best available with its default spelled out: `adjacent: true` and no `adjacent` are one request.
    const canonical = 'seatIds' in request
      ? { seatIds: request.seatIds.map((id) => id.toLowerCase()) }
      : 'quantity' in request ? { quantity: request.quantity, category: request.category ?? null, adjacent: request.adjacent ?? true } : request
    return createHash('sha256').update(JSON.stringify([showId.toLowerCase(), canonical])).digest('hex')
  }

  // ---- 2. Confirm ----------------------------------------------------------------------

  async function findOwnBooking (userId: string, bookingId: string): Promise<BookingRecord> {
    // Straight through the driver (every confirm, extension and cancel reads it); ids as the
    // routes validate them, and a service call with anything else finds no booking.
    const doc = OBJECT_ID.test(bookingId) && OBJECT_ID.test(userId)
      ? await Booking.collection.findOne<BookingRecord>({ _id: new Types.ObjectId(bookingId), userId: new Types.ObjectId(userId) })
      : null
    // Someone else's booking is "not found", never "forbidden": ids must not leak.
    if (doc === null) throw notFound('BOOKING_NOT_FOUND', `booking ${bookingId} does not exist`)
    return doc
  }

  async function confirmBooking (userId: string, bookingId: string, paymentReference?: string): Promise<Booking> {
    const current = await findOwnBooking(userId, bookingId)
    // Read once: whether a PENDING booking may still be confirmed, and the answer's show summary.
    const show = await Show.collection.findOne<ShowSummaryRecord & { status: string }>({ _id: current.showId }, { projection: { ...SUMMARY_FIELDS, status: 1 } })
    if (current.status === 'PENDING') {
      // The show first: a hold that landed after its show was cancelled must never be confirmed
      // (the show-cancel sweep catches every booking that existed before the show turned), nor
      // one confirmed once the show has started (API.md). Either way the booking is cancelled
      // by the protocol's own cancel, so its seats are freed conditionally on this booking.
      // A hold that has already lapsed is left to expiry (FAILED, 409 HOLD_EXPIRED) below.
      const now = Date.now()
      const refusal = current.expiresAt.getTime() > now ? showRefusesConfirm(show, now) : undefined
      if (refusal !== undefined) {
        await cancelLiveBooking(current._id, current.status)
        throw conflict('SHOW_NOT_BOOKABLE', `${refusal}; the booking is cancelled and its seats freed`)
      }
      // Decided on the booking alone: it races expiry on this one document, so exactly one wins.
      const confirmed = await confirmBookingIfLive(Booking, current._id, new Date(), paymentReference ?? null)
      if (confirmed !== null) {
        reachedFaultPoint('after-confirm')
        // Only the winner moves the seats; a crash before this is rolled forward by the sweep.
        await finishConfirmed(confirmed)
        metrics.confirmations.inc()
        return toBooking(confirmed, summaryOf(confirmed, show))
      }
    }
    // Lost (or was never PENDING): answer by what the booking is now.
    const latest = current.status === 'PENDING' ? await findOwnBooking(userId, bookingId) : current
    switch (latest.status) {
      case 'CONFIRMED':
        // Confirming twice answers the same; finish the seats in case the first confirm died half-way.
        await finishConfirmed(latest)
        return toBooking(latest, summaryOf(latest, show))
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

  async function finishConfirmed (booking: BookingRecord): Promise<void> {
    const seatIds = booking.seats.map((s) => s.id)
    const booked = await bookSeats(Seat, booking._id, seatIds)
    // Only what this update moved goes into the map. All of them: BOOKED at once. None: nothing
    // changed here (a repeated confirm found them BOOKED already, or a cancel that came in
    // between freed them and said so itself); patching them BOOKED would refuse free seats from
    // memory. Some (the rest booked by a confirm that died half-way, or freed meanwhile): which,
    // this instance cannot tell, so the show's map is read again.
    if (booked === seatIds.length) seatsChanged(booking.showId, seatIds, 'BOOKED')
    else if (booked > 0) seatsChanged(booking.showId)
  }

  // ---- 3. Expire -----------------------------------------------------------------------

  /**
   * The expire-hold job: expireHold, and for a booking that was never written (its hold's process
   * died between scheduling this job and writing the booking) the seats still HELD for it past
   * their hold go back, conditional on that booking id, HELD and heldUntil as the sweep's are.
   */
  async function expireHoldJob (bookingId: Types.ObjectId): Promise<boolean> {
    // This instance's bulk pass has failed it and freed its seats: FAILED is final, nothing is left to do.
    if (expiredInBulk.has(bookingId.toHexString())) return false
    if (await expireHold(bookingId)) return true
    // Settled, not due, or never written (yet).
    const existing = await Booking.collection.findOne<Pick<BookingRecord, 'status' | 'showId'>>({ _id: bookingId }, { projection: { status: 1, showId: 1 } })
    if (existing !== null) {
      // FAILED or CANCELLED owns no seat: any still HELD for it (its expirer or canceller died
      // before freeing them) go back now rather than at the sweep. Conditional on bookingId and HELD.
      if (existing.status !== 'FAILED' && existing.status !== 'CANCELLED') return false
      // Any seat, not only those it lists: an abandoned attempt's fence lists none.
      if (await releaseHeldSeats(Seat, bookingId) === 0) return false
      seatsChanged(existing.showId)
      return true
    }
    const lapsed = await lapsedSeatsOf(Seat, bookingId, new Date())
    if (lapsed.length === 0) return false
    // Its insert may still be in flight (a stalled process, a slow reply): wait LATE_WRITE_GRACE_MS
    // past heldUntil, then look again. A booking that landed meanwhile is expired as any other (its
    // seats are still its own); one that lands later still is refused by its own hold (writePending).
    const wait = Math.max(...lapsed.map((s) => s.heldUntil.getTime())) + LATE_WRITE_GRACE_MS - Date.now()
    if (wait > 0) await sleep(wait)
    if (await Booking.exists({ _id: bookingId }) !== null) return await expireHold(bookingId)
    const cutoff = new Date(Date.now() - LATE_WRITE_GRACE_MS)
    const settled = await settleStaleSeats(Seat, lapsed.map((s) => s._id), bookingId, cutoff, 'AVAILABLE')
    for (const showId of new Set(lapsed.map((s) => s.showId.toHexString()))) seatsChanged(new Types.ObjectId(showId))
    metrics.recoveries.inc(settled)
    log.warn({ bookingId: bookingId.toString(), settled }, 'expire-hold freed the seats of a booking that was never written')
    return settled > 0
  }

  /** Fails a PENDING booking whose hold has passed and releases its seats; false if it was not due (or already settled). */
  async function expireHold (bookingId: Types.ObjectId): Promise<boolean> {
    const failed = await expireBookingIfDue(Booking, bookingId, new Date())
    if (failed === null) return false
    // Only the winner of the booking's transition releases its seats.
    const seatIds = failed.seats.map((s) => s.id)
    await releaseHeldSeats(Seat, bookingId, seatIds)
    seatsChanged(failed.showId, seatIds, 'AVAILABLE')
    metrics.expirations.inc()
    log.info({ bookingId: bookingId.toString() }, 'hold expired')
    return true
  }

  /**
   * Bookings this instance's bulk pass expired (FAILED, their listed seats freed), oldest first:
   * their own jobs, locked by Agenda before the pass took them, then end without a round trip.
   */
  const expiredInBulk = new Set<string>()
  function rememberExpired (bookingId: Types.ObjectId): void {
    expiredInBulk.add(bookingId.toHexString())
    if (expiredInBulk.size > SETTLED_MEMORY) for (const oldest of expiredInBulk) { expiredInBulk.delete(oldest); break }
  }

  /**
   * Step 3 for up to BULK_EXPIRY_BATCH overdue PENDING bookings in four round trips, for a backlog
   * (thousands of holds lapsing together), where one by one each costs two. The same conditions as
   * expireHold: PENDING ∧ expiresAt ≤ now → FAILED per booking (expireBookingsIfDue: a confirm
   * racing it is decided on the booking alone, as before), then seats freed only for bookings that
   * are FAILED. Which of them this pass changed is not known (updateMany counts them), so the seats
   * of every one that is FAILED now are freed: FAILED is final and owns no seat — another expirer
   * may have won it, and frees the same seats, conditionally, as an expire-hold job that finds its
   * booking FAILED does. A crash between the two writes leaves FAILED bookings with HELD seats:
   * their jobs (or the sweep) free them. The ids of the bookings FAILED whose seats it freed.
   */
  async function expireOverdueHoldsInBulk (now = new Date()): Promise<Types.ObjectId[]> {
    // The longest overdue first: with more than a batch due, the later ones wait for the next pass.
    const overdue = await Booking.find({ status: 'PENDING', expiresAt: trusted({ $lte: now }) }, { _id: 1 })
      .sort({ expiresAt: 1 }).limit(BULK_EXPIRY_BATCH).lean<Array<{ _id: Types.ObjectId }>>()
    if (overdue.length === 0) return []
    const ids = overdue.map((b) => b._id)
    const expired = await expireBookingsIfDue(Booking, ids, now)
    reachedFaultPoint('after-bulk-expire')
    const failed = await Booking.find({ _id: trusted({ $in: ids }), status: 'FAILED' }, { showId: 1, seats: 1 })
      .lean<Array<Pick<BookingRecord, '_id' | 'showId' | 'seats'>>>()
    const listed = failed.flatMap((b) => b.seats.map((s) => s.id))
    const released = await releaseSeatsOfSettled(Seat, failed.map((b) => b._id), listed)
    for (const booking of failed) rememberExpired(booking._id)
    if (released === listed.length) {
      // Every seat it listed (each once) was HELD for one of these bookings and this update freed
      // it, so none was taken again before: the map is told which, as after a compensation's
      // give-back, and goes on answering refusals. (Re-reading instead left a sale's map unknown
      // to every hold until the read came back, half a second under load: a claim each instead of
      // a refusal from memory.) A hold landing between this update and the patch is shown free
      // until the next read (at most a second): a claim more, never a false refusal.
      // A seat listed twice (two of the bookings held it in turn) counts once: fewer, re-read.
      const byShow = new Map<string, Types.ObjectId[]>()
      for (const b of failed) {
        const seats = byShow.get(b.showId.toHexString())
        if (seats === undefined) byShow.set(b.showId.toHexString(), b.seats.map((s) => s.id))
        else seats.push(...b.seats.map((s) => s.id))
      }
      for (const [showId, seatIds] of byShow) seatsChanged(new Types.ObjectId(showId), seatIds, 'AVAILABLE')
    } else {
      // Fewer: of a booking another expirer won, a seat may already be free and taken again by a
      // newer hold. Re-read rather than told which seats are AVAILABLE.
      for (const showId of new Set(failed.map((b) => b.showId.toHexString()))) seatsChanged(new Types.ObjectId(showId))
    }
    metrics.expirations.inc(expired)
    // Their ids, as the single path logs each expiry's: an operator looking for why a booking failed finds it.
    // (Which of them this pass changed is not known: `expired` counts those; the others another expirer won.)
    if (failed.length > 0) log.info({ expired, released, bookingIds: failed.map((b) => b._id.toHexString()) }, 'holds expired in bulk')
    return failed.map((b) => b._id)
  }

  // ---- 4. Cancel -----------------------------------------------------------------------

  /** Cancels a PENDING or CONFIRMED booking; null if it was in neither state. */
  async function cancelLiveBooking (bookingId: Types.ObjectId, knownStatus?: BookingStatus): Promise<BookingRecord | null> {
    // A few rounds: the booking may be confirmed or expire between reading and deciding.
    // A status the caller just read saves the first round's read.
    for (let round = 0; round < 3; round++) {
      const current = round === 0 && knownStatus !== undefined
        ? { status: knownStatus }
        : await Booking.collection.findOne<{ status: BookingStatus }>({ _id: bookingId }, { projection: { status: 1 } })
      if (current === null || (current.status !== 'PENDING' && current.status !== 'CONFIRMED')) return null
      // Seats BOOKED → HELD first: if this process dies now the sweep rolls them back to BOOKED (still CONFIRMED).
      if (current.status === 'CONFIRMED') await unbookSeats(Seat, bookingId, new Date(Date.now() + CANCEL_GRACE_MS))
      const cancelled = await cancelBookingFrom(Booking, bookingId, current.status)
      if (cancelled === null) continue
      // CANCELLED is final, so every seat it still owns goes back, HELD or BOOKED (a confirm that won
      // just before may have booked them after the step above); a late HELD → BOOKED then matches nothing.
      const seatIds = cancelled.seats.map((s) => s.id)
      const freed = await freeSeatsOf(Seat, bookingId, seatIds)
      // Told at once (not after the mark below): a hold arriving here meanwhile must not be refused
      // for them. Only if this freed them all: recovery may have freed some first (this canceller
      // stalled), and a newer hold taken them since, so the map is read again instead.
      if (freed === seatIds.length) seatsChanged(cancelled.showId, seatIds, 'AVAILABLE')
      else seatsChanged(cancelled.showId)
      // Done: recovery need not look at this booking (until this lands, it frees the same seats).
      await Booking.updateOne({ _id: bookingId, status: 'CANCELLED' }, { $unset: { releasePending: 1 } })
        .catch((error: unknown) => log.warn({ err: error, bookingId }, 'cancel not marked done; recovery will look at its seats'))
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
    const show = await Show.collection.findOne<ShowSummaryRecord>({ _id: current.showId }, { projection: SUMMARY_FIELDS })
    if (show !== null && show.startTime.getTime() <= Date.now()) {
      throw conflict('INVALID_STATE', 'the show has started; its bookings can no longer be cancelled')
    }
    const cancelled = await cancelLiveBooking(current._id, current.status)
    if (cancelled === null) {
      const now = await findOwnBooking(userId, bookingId)
      throw conflict('INVALID_STATE', `a ${now.status.toLowerCase()} booking cannot be cancelled`)
    }
    return toBooking(cancelled, summaryOf(cancelled, show))
  }

  /**
   * Cancels every PENDING and CONFIRMED booking of a show (the show is already CANCELLED, with
   * cancelPending), then clears the show's cancelPending: until then the sweep finishes the job
   * (finishShowCancels) if this one is cut short by a crash or an outage. While it works it renews
   * the show's updatedAt every SHOW_CANCEL_RENEW_MS, so a long cancel (thousands of bookings)
   * is not taken for one cut short.
   */
  async function cancelShowBookings (showId: Types.ObjectId): Promise<number> {
    let count = 0
    let renewed = Date.now()
    for (;;) {
      const live = await Booking.find({ showId, status: trusted({ $in: ['PENDING', 'CONFIRMED'] }) }, { _id: 1 }).limit(500).lean()
      if (live.length === 0) break
      for (const { _id } of live) {
        if (await cancelLiveBooking(_id) !== null) count++
        if (Date.now() - renewed > SHOW_CANCEL_RENEW_MS) {
          renewed = Date.now()
          // (timestamps: mongoose sets updatedAt on every update.)
          await Show.updateOne({ _id: showId, cancelPending: true }, { $set: { cancelPending: true } })
        }
      }
    }
    await Show.updateOne({ _id: showId, status: 'CANCELLED' }, { $unset: { cancelPending: 1 } })
    return count
  }

  /**
   * The sweep's step for show cancels cut short: a show CANCELLED with cancelPending still set
   * CANCEL_GRACE_MS after its last change (a canceller at work renews it) has bookings its
   * canceller did not reach: it was killed, or the database failed under it, mid-way. Its live
   * bookings are cancelled here, the oldest such shows first, a few per sweep. How many
   * bookings this cancelled.
   */
  async function finishShowCancels (now: Date): Promise<number> {
    const shows = await Show.find({ cancelPending: true, status: 'CANCELLED', updatedAt: trusted({ $lte: new Date(now.getTime() - CANCEL_GRACE_MS) }) }, { _id: 1 })
      .sort({ updatedAt: 1 }).limit(SHOW_CANCELS_PER_SWEEP).lean<Array<{ _id: Types.ObjectId }>>()
    let cancelled = 0
    for (const show of shows) {
      const showId = show._id.toHexString()
      try {
        const count = await cancelShowBookings(show._id)
        cancelled += count
        log.warn({ showId, cancelled: count }, 'recovery finished a show cancel cut short')
      } catch (error) {
        // The next sweep tries again; the other shows go on meanwhile.
        log.warn({ err: error, showId }, 'recovery could not finish a show cancel; the next sweep retries')
      }
    }
    return cancelled
  }

  // ---- 5. Recovery ---------------------------------------------------------------------

  /**
   * Settles what a crash can leave behind; idempotent, safe on several instances at once.
   * Fails PENDING bookings past expiresAt (their job was lost), then settles every HELD seat
   * whose hold has passed by its booking: CONFIRMED → BOOKED (roll forward); missing, FAILED
   * or CANCELLED → AVAILABLE (roll back). Then frees the seats of cancels cut short (`settled`
   * counts seats), and finishes show cancels cut short (`cancelled` counts their bookings).
   */
  async function sweepStaleHolds (): Promise<{ expired: number, settled: number, cancelled: number }> {
    const now = new Date()
    const expired = (await expireOverdueHolds(now)).length
    const settled = await settleLapsedSeats(now) + await freeSeatsOfPendingReleases()
    const cancelled = await finishShowCancels(now)
    return { expired, settled, cancelled }
  }

  /**
   * Seats still HELD or BOOKED for a cancelled booking whose canceller has not marked its seats
   * freed (releasePending, set with CANCELLED): a canceller killed, or cut off from the database,
   * between writing CANCELLED and freeing the seats. Without this, a PENDING booking's seats stay
   * HELD until their hold's end, and a confirmed one's can stay BOOKED, where no other step looks
   * (a canceller that stalled past its grace after moving them BOOKED → HELD, so that they rolled
   * forward, or a repeated confirm that booked them again in between). CANCELLED is final and owns
   * no seat, so they go back (conditional on that bookingId) and the flag is cleared. A flag on
   * exactly those bookings (sparse index) rather than a time window: no number of other
   * cancellations, no outage however long, hides one. Normally there are none, or only cancels in
   * progress; with `cutoff` (the overdue pass), only those cancelled by then, so that a canceller
   * at work is normally left to finish.
   */
  async function freeSeatsOfPendingReleases (cutoff?: Date): Promise<number> {
    const filter: Record<string, unknown> = { releasePending: true, status: 'CANCELLED' }
    if (cutoff !== undefined) filter.cancelledAt = trusted({ $lte: cutoff })
    const cancelled = await Booking.find(filter, { _id: 1, showId: 1 })
      .limit(SWEEP_BATCH).lean<Array<{ _id: Types.ObjectId, showId: Types.ObjectId }>>()
    if (cancelled.length === 0) return 0
    const ids = cancelled.map((b) => b._id)
    const freed = await freeSeatsOf(Seat, ids)
    if (freed > 0) for (const showId of new Set(cancelled.map((b) => b.showId.toHexString()))) seatsChanged(new Types.ObjectId(showId))
    await Booking.updateMany({ _id: trusted({ $in: ids }), status: 'CANCELLED' }, { $unset: { releasePending: 1 } })
    if (freed > 0) {
      metrics.recoveries.inc(freed)
      log.warn({ freed }, 'recovery freed seats of cancelled bookings')
    }
    return freed
  }

  /**
   * The sweep's seat step, also run by every instance's overdue pass (with `now` a second back):
   * up to SWEEP_BATCH seats still HELD past heldUntil go where their booking says — BOOKED for a
   * CONFIRMED one, AVAILABLE for one FAILED or CANCELLED (or never written, after a grace) — each
   * conditional on its bookingId, HELD and heldUntil, so a newer hold is never touched. Seats held
   * by FAILED bookings are what an expirer killed between its two writes leaves (a bulk pass
   * fails up to a thousand bookings before freeing their seats): their own jobs may be locked by
   * the dead instance for their whole lock (10 s), and the sweep is 30 s away.
   */
  async function settleLapsedSeats (now: Date): Promise<number> {
    const stale = await Seat.find({ status: 'HELD', heldUntil: trusted({ $lt: now }) }, { _id: 1, bookingId: 1, showId: 1 })
      .limit(SWEEP_BATCH).lean<Array<{ _id: Types.ObjectId, bookingId: Types.ObjectId | null, showId: Types.ObjectId }>>()
    const byBooking = new Map<string, { bookingId: Types.ObjectId | null, seatIds: Types.ObjectId[] }>()
    for (const seat of stale) {
      const key = seat.bookingId?.toHexString() ?? 'none'
      const group = byBooking.get(key) ?? { bookingId: seat.bookingId, seatIds: [] }
      group.seatIds.push(seat._id)
      byBooking.set(key, group)
    }
    if (stale.length === 0) return 0
    const owners = await Booking.find({ _id: trusted({ $in: [...byBooking.values()].flatMap((g) => g.bookingId ?? []) }) }, { status: 1 })
      .lean<Array<{ _id: Types.ObjectId, status: BookingStatus }>>()
    const statusOf = new Map(owners.map((b) => [b._id.toHexString(), b.status]))

    let settled = 0
    for (const [key, { bookingId, seatIds }] of byBooking) {
      const status = statusOf.get(key)
      // Same conditions as the protocol's own steps, plus heldUntil: a newer hold is never touched.
      if (status === 'CONFIRMED') settled += await settleStaleSeats(Seat, seatIds, bookingId, now, 'BOOKED')
      else if (status !== undefined && status !== 'PENDING') settled += await settleStaleSeats(Seat, seatIds, bookingId, now, 'AVAILABLE')
      // No booking: its insert may still be in flight; only seats lapsed LATE_WRITE_GRACE_MS ago.
      else if (status === undefined) settled += await settleStaleSeats(Seat, seatIds, bookingId, new Date(now.getTime() - LATE_WRITE_GRACE_MS), 'AVAILABLE')
    }
    if (settled > 0) {
      for (const showId of new Set(stale.map((s) => s.showId.toHexString()))) seatsChanged(new Types.ObjectId(showId))
      metrics.recoveries.inc(settled)
      log.warn({ settled }, 'recovery settled stale seats')
    }
    return settled
  }

  /**
   * Expires up to SWEEP_BATCH PENDING bookings past expiresAt (each exactly as its own job would:
   * conditional, only the winner frees seats); the ids it expired. The sweep's first part, and
   * what an expire-hold job that finds itself late runs to catch up with a backlog.
   */
  async function expireOverdueHolds (now = new Date()): Promise<Types.ObjectId[]> {
    const overdue = await Booking.find({ status: 'PENDING', expiresAt: trusted({ $lte: now }) }, { _id: 1 }).limit(SWEEP_BATCH).lean()
    const expired: Types.ObjectId[] = []
    // SWEEP_PARALLEL workers, each taking the next booking when its last is done: after a big
    // sale's holds lapse together, one by one would take minutes, and waiting for the slowest of
    // a batch of them before starting the next leaves the connections idle.
    let next = 0
    await Promise.all(Array.from({ length: Math.min(SWEEP_PARALLEL, overdue.length) }, async () => {
      while (next < overdue.length) {
        const { _id } = overdue[next++]
        if (await expireHold(_id)) expired.push(_id)
      }
    }))
    return expired
  }

  // ---- 6. Extend ----------------------------------------------------------------------

  /** Why a booking's hold cannot be extended, from what the booking is now. */
  async function refuseExtension (booking: BookingRecord): Promise<AppError> {
    if (booking.status === 'PENDING' && booking.expiresAt.getTime() <= Date.now()) {
      // Its time is up and its job has not run yet: settle it now rather than leave a stale PENDING.
      await expireHold(booking._id)
      return conflict('HOLD_EXPIRED', 'the hold expired before it was extended; the booking has failed')
    }
    if (booking.status === 'FAILED') return conflict('HOLD_EXPIRED', 'the hold expired before it was extended; the booking has failed')
    if (booking.status === 'PENDING' && (booking.extensions ?? 0) >= maxHoldExtensions) {
      return conflict('EXTENSION_LIMIT', `the hold was already extended ${maxHoldExtensions} times`, { extensions: booking.extensions ?? 0, max: maxHoldExtensions })
    }
    if (booking.status === 'PENDING') return conflict('INVALID_STATE', 'the show is no longer bookable; the hold cannot be extended')
    return conflict('INVALID_STATE', `a ${booking.status.toLowerCase()} booking cannot be extended`)
  }

  /**
   * Step 6: the hold runs the show's hold time from now. Seats first (conditional on this booking
   * and HELD, and only ever later), then the booking (conditional on PENDING, expiresAt > now and
   * extensions < max), then a new expire-hold job: the old one finds nothing due and does nothing.
   */
  async function extendHold (userId: string, bookingId: string): Promise<Booking> {
    const current = await findOwnBooking(userId, bookingId)
    if (current.status !== 'PENDING' || current.expiresAt.getTime() <= Date.now() || (current.extensions ?? 0) >= maxHoldExtensions) {
      throw await refuseExtension(current)
    }
    const show = await Show.collection.findOne<ShowSummaryRecord & { holdSeconds: number, status: string }>(
      { _id: current.showId }, { projection: { ...SUMMARY_FIELDS, holdSeconds: 1, status: 1 } })
    // A hold on a show that is cancelled or has started may run out, never be prolonged.
    if (show === null || show.status !== 'SCHEDULED' || show.startTime.getTime() <= Date.now()) throw await refuseExtension(current)
    const until = new Date(Date.now() + show.holdSeconds * 1000)
    // Seats first: a crash after this leaves them held longer than their booking (expiry frees them).
    await extendHeldSeats(Seat, current._id, until)
    reachedFaultPoint('after-extend-seats')
    // The new job before the booking moves: a booking is never extended without a job at its new
    // end. If the extension is then refused (or this process dies), the job finds nothing due and
    // does nothing; the old one still expires the booking at its own end. If scheduling fails the
    // hold still lapses: the sweep fails overdue PENDING bookings.
    await scheduleExpiry(current._id, until).catch((error: unknown) => log.warn({ err: error, bookingId }, 'expire-hold not rescheduled; the sweep will expire it'))
    reachedFaultPoint('after-extend-scheduled')
    // Decided on the booking alone, racing expiry, confirm and cancel on this one document.
    const extended = await extendBookingIfLive(Booking, current._id, new Date(), until, maxHoldExtensions)
    if (extended === null) {
      const now = await findOwnBooking(userId, bookingId)
      // Refused while still PENDING (another extension won): give the seats back the booking's own
      // end, only where this request's push is still the last word. Otherwise its winner frees them.
      // The seat map may know the pushed end: it must not trust the hold longer than it runs.
      if (now.status === 'PENDING' && await shortenHeldSeats(Seat, now._id, until, now.expiresAt) > 0) seatsChanged(now.showId)
      throw await refuseExtension(now)
    }
    log.info({ bookingId, expiresAt: until, extensions: extended.extensions }, 'hold extended')
    return toBooking(extended, toSummary(show))
  }

  // ---- Reading -------------------------------------------------------------------------

  async function getBooking (userId: string, bookingId: string): Promise<Booking> {
    return (await withShows([await findOwnBooking(userId, bookingId)]))[0]
  }

  async function listBookings (filter: { userId?: string, showId?: string }, query: BookingQuery): Promise<Page<Booking>> {
    const where: Record<string, unknown> = {}
    if (filter.userId !== undefined) where.userId = new Types.ObjectId(filter.userId)
    if (filter.showId !== undefined) where.showId = new Types.ObjectId(filter.showId)
    if (query.status !== undefined) where.status = query.status
    const [docs, total] = await Promise.all([
      Booking.find(where).sort({ createdAt: -1, _id: -1 }).skip(query.offset).limit(query.limit).lean<BookingRecord[]>(),
      Booking.countDocuments(where)
    ])
    return { items: await withShows(docs), total, limit: query.limit, offset: query.offset }
  }

  return {
    holdSeats, confirmBooking, cancelBooking, extendHold, expireHold, expireHoldJob, expireOverdueHolds, expireOverdueHoldsInBulk, settleLapsedSeats, freeSeatsOfPendingReleases, sweepStaleHolds,
    cancelShowBookings, getBooking, listBookings
  }
}
export type BookingService = ReturnType<typeof createBookingService>
