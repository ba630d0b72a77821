// Issue 5 § Fault tests, property-based: random sequences of hold / best-available hold /
// confirm / cancel / extend / lapse / expire / sweep from three users on a six-seat show (row A a
// FRONT category at its own price, row B STANDARD), each applied the way production applies
// it (HTTP where a route exists; the expiry job's and the sweep's own service calls otherwise),
// and checked after EVERY step against a simple model:
//   - the HTTP answer is the one the model predicts (201 vs 409 SEATS_UNAVAILABLE with the
//     taken labels; 200 vs 409 INVALID_STATE / HOLD_EXPIRED / EXTENSION_LIMIT; 404 for someone
//     else's booking; best available: the seats the choice rules pick from the model's map, or
//     409 with details.available); every booking's total is the sum of its seats' prices;
//   - a PENDING booking's seats are held at least as long as the booking (extend's order);
//   - no seat is in two live (PENDING/CONFIRMED) bookings;
//   - every seat's status matches its booking: HELD ⇔ owned by a PENDING booking,
//     BOOKED ⇔ owned by a CONFIRMED booking, AVAILABLE ⇔ no live booking has it;
//   - the database (bookings, seats) and the public seat map agree with the model.
// One app for all runs; each run gets a fresh show, and ends by cancelling it (as admin),
// which is itself checked (every live booking CANCELLED, every seat AVAILABLE).
import t from 'tap'
import fc from 'fast-check'
import { Types } from 'mongoose'
import type { LightMyRequestResponse } from 'fastify'
import { adminAuth, buildTestApp, json, signUp } from '../helper.js'
import type { Booking } from '../../src/schemas/booking.js'
import type { SeatMap } from '../../src/schemas/show.js'
import { check, errorBodyProblem } from './support.js'
import { chooseBestAvailable } from '../../src/services/best-available.js'

const NUM_RUNS = Number(process.env.MODEX_PROPERTY_RUNS ?? 200)
const LABELS = ['A1', 'A2', 'A3', 'B1', 'B2', 'B3'] as const
type Label = typeof LABELS[number]
/** Row A is FRONT at 800, row B STANDARD at the show's 500. */
const priceOf = (label: Label): number => label.startsWith('A') ? 800 : 500
const categoryOf = (label: Label): string => label.startsWith('A') ? 'FRONT' : 'STANDARD'
const MAX_EXTENSIONS = 2
type Status = 'PENDING' | 'CONFIRMED' | 'FAILED' | 'CANCELLED'
type SeatStatus = 'AVAILABLE' | 'HELD' | 'BOOKED'

type Action =
  | { kind: 'hold', user: number, labels: Label[], byId: boolean }
  /** Best available: the service chooses. */
  | { kind: 'best', user: number, quantity: number, category?: 'FRONT' | 'STANDARD', adjacent: boolean }
  | { kind: 'extend', ref: number, asOwner: boolean }
  | { kind: 'confirm', ref: number, asOwner: boolean }
  | { kind: 'cancel', ref: number, asOwner: boolean }
  /** The hold's time runs out (expiresAt and the seats' heldUntil moved into the past); no job has run yet. */
  | { kind: 'lapse', ref: number }
  /** The hold lapses and its expire-hold job runs. */
  | { kind: 'expire', ref: number }
  /** The recovery sweep runs. */
  | { kind: 'sweep' }

/** Usually the booking's owner; sometimes another user, who must get 404. */
const mostlyOwner = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('hold' as const), user: fc.integer({ min: 0, max: 2 }), labels: fc.shuffledSubarray([...LABELS], { minLength: 1, maxLength: 3 }), byId: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('best' as const), user: fc.integer({ min: 0, max: 2 }), quantity: fc.integer({ min: 1, max: 3 }), category: fc.constantFrom('FRONT' as const, 'STANDARD' as const, undefined), adjacent: fc.boolean() }, { requiredKeys: ['kind', 'user', 'quantity', 'adjacent'] }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('extend' as const), ref: fc.nat(), asOwner: mostlyOwner }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('confirm' as const), ref: fc.nat(), asOwner: mostlyOwner }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), ref: fc.nat(), asOwner: mostlyOwner }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lapse' as const), ref: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('expire' as const), ref: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) }
)

interface ModelBooking { id: string, owner: number, labels: Label[], status: Status, lapsed: boolean, extensions: number }

const isLive = (b: ModelBooking): boolean => b.status === 'PENDING' || b.status === 'CONFIRMED'

t.test('random hold/confirm/cancel/lapse/expire/sweep sequences keep the seats consistent with a simple model', async (t) => {
  // Holds last 30 min and the background sweep waits an hour: only the sequence's own steps
  // move time, so the model is exact.
  // No overdue pass: the model decides when a lapsed hold is expired (its expire and sweep steps).
  const app = await buildTestApp(t, { HOLD_SECONDS: '1800', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0', MAX_HOLD_EXTENSIONS: String(MAX_EXTENSIONS) })
  const models = app.models
  const bookingService = app.services.bookings
  const admin = await adminAuth(app)
  const users = [await signUp(app, 'u0'), await signUp(app, 'u1'), await signUp(app, 'u2')]

  // The recurring sweep runs once when the scheduler starts; let that pass so it cannot race a run.
  const jobs = app.db.collection('agendaJobs')
  for (let i = 0; i < 100; i++) {
    const sweep = await jobs.findOne({ name: 'sweep-stale-holds' })
    if (sweep?.lastFinishedAt instanceof Date) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const inject = async (method: 'GET' | 'POST', url: string, authorization?: string, payload?: Record<string, unknown>): Promise<LightMyRequestResponse> =>
    app.inject({ method, url, headers: authorization === undefined ? {} : { authorization }, ...(payload !== undefined && { payload }) })

  let runs = 0
  let steps = 0
  const seen = new Map<string, number>()

  await fc.assert(fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 15, size: 'max' }), async (actions) => {
    runs++
    const created = await inject('POST', '/api/admin/shows', admin.authorization, {
      name: 'Model show', type: 'EVENT', venue: 'Hall', startTime: new Date(Date.now() + 86_400_000).toISOString(),
      holdSeconds: 1800, priceCents: 500, seating: { totalSeats: LABELS.length, seatsPerRow: 3 },
      categories: [{ name: 'FRONT', priceCents: 800, rows: ['A'] }]
    })
    check(created.statusCode === 201, `create show: ${created.statusCode} ${created.body}`)
    const showId = json<{ id: string }>(created).id
    const map = json<SeatMap>(await inject('GET', `/api/shows/${showId}/seats`))
    check(map.seats.map((s) => s.label).join() === LABELS.join(), `seat labels ${map.seats.map((s) => s.label).join()}`)
    const seatIdOf = new Map(map.seats.map((s) => [s.label as Label, s.id]))
    const labelOf = new Map(map.seats.map((s) => [s.id, s.label as Label]))

    const bookings: ModelBooking[] = []
    const liveOwnerOf = (label: Label): ModelBooking | undefined => bookings.find((b) => isLive(b) && b.labels.includes(label))
    const expectedSeatStatus = (label: Label): SeatStatus => {
      const owner = liveOwnerOf(label)
      return owner === undefined ? 'AVAILABLE' : owner.status === 'PENDING' ? 'HELD' : 'BOOKED'
    }

    const expectError = (res: LightMyRequestResponse, status: number, codes: string[], what: string): Record<string, unknown> => {
      check(res.statusCode === status, `${what}: expected ${status} ${codes.join('|')}, got ${res.statusCode} ${res.body}`)
      const problem = errorBodyProblem(status, res.body)
      check(problem === null, `${what}: ${problem ?? ''}`)
      const body = json(res)
      check(codes.includes(String(body.code)), `${what}: expected code ${codes.join('|')}, got ${String(body.code)}`)
      return body
    }
    const expectBooking = (res: LightMyRequestResponse, status: number, booking: ModelBooking, bookingStatus: Status, what: string): void => {
      check(res.statusCode === status, `${what}: expected ${status} ${bookingStatus}, got ${res.statusCode} ${res.body}`)
      const body = json<Booking>(res)
      check(body.id === booking.id && body.status === bookingStatus && body.showId === showId && body.userId === users[booking.owner].id,
        `${what}: booking body ${res.body}`)
      check([...body.seats.map((s) => s.label)].sort().join() === [...booking.labels].sort().join(), `${what}: booking seats ${res.body}`)
      check(body.seats.every((s) => s.priceCents === priceOf(s.label as Label) && s.category === categoryOf(s.label as Label)), `${what}: seat prices ${res.body}`)
      check(body.totalPriceCents === booking.labels.reduce((sum, l) => sum + priceOf(l), 0), `${what}: totalPriceCents ${body.totalPriceCents}`)
      check(body.extensions === booking.extensions, `${what}: extensions ${body.extensions}, the model says ${booking.extensions}`)
    }

    /** Moves a booking's hold into the past behind the API's back, as the passing of time would. */
    const lapse = async (booking: ModelBooking): Promise<void> => {
      const past = new Date(Date.now() - 1000)
      await models.Booking.updateOne({ _id: booking.id }, { $set: { expiresAt: past } })
      await models.Seat.updateMany({ bookingId: new Types.ObjectId(booking.id), status: 'HELD' }, { $set: { heldUntil: past } })
      if (booking.status === 'PENDING') booking.lapsed = true
    }

    const apply = async (action: Action, step: string): Promise<void> => {
      const target = 'ref' in action && bookings.length > 0 ? bookings[action.ref % bookings.length] : undefined
      switch (action.kind) {
        case 'hold': {
          const payload = action.byId ? { seatIds: action.labels.map((l) => seatIdOf.get(l) ?? '') } : { seatLabels: action.labels }
          const res = await inject('POST', `/api/shows/${showId}/bookings`, users[action.user].authorization, payload)
          const taken = action.labels.filter((l) => liveOwnerOf(l) !== undefined)
          if (taken.length === 0) {
            check(res.statusCode === 201, `${step}: expected 201, got ${res.statusCode} ${res.body}`)
            const booking: ModelBooking = { id: json<Booking>(res).id, owner: action.user, labels: action.labels, status: 'PENDING', lapsed: false, extensions: 0 }
            expectBooking(res, 201, booking, 'PENDING', step)
            bookings.push(booking)
          } else {
            const body = expectError(res, 409, ['SEATS_UNAVAILABLE'], step)
            const details = body.details as { seats?: unknown } | undefined
            const reported = Array.isArray(details?.seats) ? details.seats.map(String).sort() : []
            check(reported.join() === [...taken].sort().join(), `${step}: details.seats ${JSON.stringify(details?.seats)}, the model says ${taken.join(',')} are taken`)
          }
          return
        }
        case 'best': {
          const { kind: _, user, ...request } = action
          const res = await inject('POST', `/api/shows/${showId}/bookings`, users[user].authorization, request)
          // The choice rules (tested on their own) applied to the model's map: the protocol must claim exactly those seats.
          const modelMap = map.seats.map((s) => ({ ...s, status: expectedSeatStatus(s.label as Label) }))
          const choice = chooseBestAvailable(modelMap, { quantity: action.quantity, category: action.category, adjacent: action.adjacent })
          if (choice.seatIds !== null) {
            check(res.statusCode === 201, `${step}: expected 201 with ${choice.seatIds.map((id) => labelOf.get(id)).join()}, got ${res.statusCode} ${res.body}`)
            const labels = choice.seatIds.map((id) => labelOf.get(id) as Label)
            const booking: ModelBooking = { id: json<Booking>(res).id, owner: user, labels, status: 'PENDING', lapsed: false, extensions: 0 }
            expectBooking(res, 201, booking, 'PENDING', step)
            bookings.push(booking)
          } else {
            const body = expectError(res, 409, ['SEATS_UNAVAILABLE'], step)
            check((body.details as { available?: unknown } | undefined)?.available === choice.available, `${step}: details ${JSON.stringify(body.details)}, the model says ${choice.available} free`)
          }
          return
        }
        case 'extend': {
          if (target === undefined) {
            const res = await inject('POST', `/api/bookings/${new Types.ObjectId().toHexString()}/extend`, users[0].authorization)
            expectError(res, 404, ['BOOKING_NOT_FOUND'], step)
            return
          }
          const caller = action.asOwner ? target.owner : (target.owner + 1) % users.length
          const res = await inject('POST', `/api/bookings/${target.id}/extend`, users[caller].authorization)
          if (!action.asOwner) {
            expectError(res, 404, ['BOOKING_NOT_FOUND'], `${step} (someone else's booking)`)
          } else if (target.status === 'PENDING' && target.lapsed) {
            expectError(res, 409, ['HOLD_EXPIRED'], step)
            target.status = 'FAILED'
          } else if (target.status === 'FAILED') {
            expectError(res, 409, ['HOLD_EXPIRED'], step)
          } else if (target.status === 'PENDING' && target.extensions >= MAX_EXTENSIONS) {
            expectError(res, 409, ['EXTENSION_LIMIT'], step)
          } else if (target.status === 'PENDING') {
            target.extensions++
            expectBooking(res, 200, target, 'PENDING', step)
          } else {
            expectError(res, 409, ['INVALID_STATE'], step)
          }
          return
        }
        case 'confirm':
        case 'cancel': {
          if (target === undefined) {
            // Nothing booked yet: a booking id that names nothing.
            const res = await inject('POST', `/api/bookings/${new Types.ObjectId().toHexString()}/${action.kind}`, users[0].authorization)
            expectError(res, 404, ['BOOKING_NOT_FOUND'], step)
            return
          }
          const caller = action.asOwner ? target.owner : (target.owner + 1) % users.length
          const res = await inject('POST', `/api/bookings/${target.id}/${action.kind}`, users[caller].authorization)
          if (!action.asOwner) {
            expectError(res, 404, ['BOOKING_NOT_FOUND'], `${step} (someone else's booking)`)
            return
          }
          if (action.kind === 'confirm') {
            if (target.status === 'PENDING' && !target.lapsed) {
              expectBooking(res, 200, target, 'CONFIRMED', step)
              target.status = 'CONFIRMED'
            } else if (target.status === 'PENDING' || target.status === 'FAILED') {
              // A lapsed hold cannot be confirmed, whether or not its job has run yet; it is FAILED now.
              expectError(res, 409, ['HOLD_EXPIRED'], step)
              target.status = 'FAILED'
            } else if (target.status === 'CONFIRMED') {
              expectBooking(res, 200, target, 'CONFIRMED', `${step} (again)`)
            } else {
              expectError(res, 409, ['INVALID_STATE'], step)
            }
          } else {
            if (target.status === 'PENDING' && target.lapsed && res.statusCode === 409) {
              // The contract leaves open whether a lapsed hold whose job has not run yet may
              // still be cancelled; refusing is fine only if it is settled as FAILED.
              expectError(res, 409, ['INVALID_STATE', 'HOLD_EXPIRED'], step)
              target.status = 'FAILED'
            } else if (target.status === 'PENDING' || target.status === 'CONFIRMED') {
              expectBooking(res, 200, target, 'CANCELLED', step)
              target.status = 'CANCELLED'
            } else {
              expectError(res, 409, ['INVALID_STATE'], step)
            }
          }
          return
        }
        case 'lapse':
          if (target !== undefined) await lapse(target)
          return
        case 'expire': {
          if (target === undefined) {
            // What the expire-hold job runs: for a booking never written it frees only seats HELD for it (none here).
            check(!await bookingService.expireHoldJob(new Types.ObjectId()), `${step}: expiring a booking that does not exist`)
            return
          }
          await lapse(target)
          const expired = await bookingService.expireHoldJob(new Types.ObjectId(target.id))
          check(expired === (target.status === 'PENDING'), `${step}: expireHold answered ${String(expired)} for a ${target.status} booking`)
          if (target.status === 'PENDING') target.status = 'FAILED'
          return
        }
        case 'sweep': {
          const due = bookings.filter((b) => b.status === 'PENDING' && b.lapsed)
          const { expired, settled } = await bookingService.sweepStaleHolds()
          check(expired === due.length, `${step}: the sweep failed ${expired} overdue holds, the model has ${due.length}`)
          // Nothing crashed, so the protocol's own steps left no stale HELD seat for the sweep to settle.
          check(settled === 0, `${step}: the sweep had to settle ${settled} seats`)
          for (const b of due) b.status = 'FAILED'
        }
      }
    }

    /** The invariants, read from the database and the public seat map. */
    const verify = async (step: string): Promise<void> => {
      const [seats, docs, seatMap] = await Promise.all([
        models.Seat.find({ showId }).lean<Array<{ _id: Types.ObjectId, label: Label, status: SeatStatus, bookingId: Types.ObjectId | null, heldUntil: Date | null }>>(),
        models.Booking.find({ showId }).lean<Array<{ _id: Types.ObjectId, status: Status, expiresAt: Date, seats: Array<{ id: Types.ObjectId, label: string }> }>>(),
        inject('GET', `/api/shows/${showId}/seats`)
      ])
      const statusOf = new Map(docs.map((b) => [b._id.toHexString(), b.status]))
      // No seat in two live bookings.
      const liveHolders = new Map<string, string[]>()
      for (const b of docs) {
        if (b.status !== 'PENDING' && b.status !== 'CONFIRMED') continue
        for (const s of b.seats) liveHolders.set(s.id.toHexString(), [...(liveHolders.get(s.id.toHexString()) ?? []), b._id.toHexString()])
      }
      for (const [seatId, holders] of liveHolders) check(holders.length === 1, `${step}: seat ${labelOf.get(seatId) ?? seatId} is in ${holders.length} live bookings`)
      // Every seat's status matches its booking's.
      for (const seat of seats) {
        const holders = liveHolders.get(seat._id.toHexString()) ?? []
        const owner = seat.bookingId?.toHexString()
        const ownerStatus = owner === undefined ? undefined : statusOf.get(owner)
        const where = `${step}: seat ${seat.label} is ${seat.status} (bookingId ${owner ?? 'null'}, ${ownerStatus ?? 'no booking'})`
        if (seat.status === 'AVAILABLE') check(holders.length === 0 && owner === undefined, `${where} but live booking ${holders.join()} has it`)
        if (seat.status === 'HELD') check(ownerStatus === 'PENDING' && holders.includes(owner ?? ''), where)
        // Never a PENDING booking outliving its seats' hold (the sweep could free them under it).
        const ownerExpiry = docs.find((b) => b._id.toHexString() === owner)?.expiresAt
        if (seat.status === 'HELD') check(ownerExpiry !== undefined && seat.heldUntil !== null && seat.heldUntil >= ownerExpiry, `${where}: held until ${seat.heldUntil?.toISOString() ?? 'null'}, its booking expires ${ownerExpiry?.toISOString() ?? '?'}`)
        if (seat.status === 'BOOKED') check(ownerStatus === 'CONFIRMED' && holders.includes(owner ?? ''), where)
        // …and the model's.
        const expected = expectedSeatStatus(seat.label)
        check(seat.status === expected, `${where}; the model says ${expected}`)
        check(expected === 'AVAILABLE' || owner === liveOwnerOf(seat.label)?.id, `${where}; the model says booking ${liveOwnerOf(seat.label)?.id ?? ''}`)
      }
      check(docs.length === bookings.length, `${step}: ${docs.length} bookings in the database, ${bookings.length} in the model`)
      for (const b of bookings) check(statusOf.get(b.id) === b.status, `${step}: booking ${b.id} is ${statusOf.get(b.id) ?? 'missing'}, the model says ${b.status}`)
      // The public seat map says the same.
      check(seatMap.statusCode === 200, `${step}: seat map ${seatMap.statusCode}`)
      const body = json<SeatMap>(seatMap)
      for (const s of body.seats) check(s.status === expectedSeatStatus(s.label as Label), `${step}: seat map has ${s.label} ${s.status}, the model says ${expectedSeatStatus(s.label as Label)}`)
      const counts = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
      for (const l of LABELS) counts[expectedSeatStatus(l)]++
      check(body.counts.AVAILABLE === counts.AVAILABLE && body.counts.HELD === counts.HELD && body.counts.BOOKED === counts.BOOKED,
        `${step}: seat map counts ${JSON.stringify(body.counts)}, the model says ${JSON.stringify(counts)}`)
    }

    try {
      for (const [i, action] of actions.entries()) {
        steps++
        seen.set(action.kind, (seen.get(action.kind) ?? 0) + 1)
        const step = `step ${i + 1} ${JSON.stringify(action)}`
        await apply(action, step)
        await verify(step)
      }
    } finally {
      // Ends the run with nothing live left behind (the sweep of the next run counts only its own),
      // and checks show cancellation on whatever state the sequence reached.
      const cancelled = await inject('POST', `/api/admin/shows/${showId}/cancel`, admin.authorization)
      check(cancelled.statusCode === 200, `cancel show: ${cancelled.statusCode} ${cancelled.body}`)
    }
    for (const b of bookings) if (isLive(b)) b.status = 'CANCELLED'
    await verify('after the show is cancelled')
  }), { numRuns: NUM_RUNS, endOnFailure: false })

  t.ok(runs >= NUM_RUNS, `${runs} sequences, ${steps} steps (${[...seen].map(([k, n]) => `${k} ${n}`).join(', ')})`)
})
