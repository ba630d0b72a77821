// Issue 13: a refused named hold costs no read. A seat this instance's seat map shows BOOKED, or
// HELD well before its end, refuses the hold with no command on the seats at all; a claim that
// loses names the taken seats from that map (or, without a current map, one read of the seats it
// never tried); seats freed through this instance are holdable again at once.
// The booking service here is built over the test app's models with a seat map that stays
// current for a minute (the app's own: 1 s), so which path a hold takes does not depend on how
// fast a loaded machine runs the test.
import t from 'tap'
import { Types } from 'mongoose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createShow, hold, json, seatMap, signUp, statusByLabel, waitFor } from '../helper.js'
import { AppError } from '../../src/errors.js'
import { expectError } from '../routes/contract.js'
import { seatMapCacheReader } from '../../src/services/seat-map-cache.js'
import { bookingServiceOver } from './support.js'
import { onCommandSent } from '../../src/driver-hooks.js'

type Teardown = Parameters<typeof buildTestApp>[0]

function serviceOver (app: FastifyInstance): ReturnType<typeof bookingServiceOver> {
  return bookingServiceOver(app, { seatMapMaxAgeMs: 60_000, seatMapHardMaxAgeMs: 120_000, scheduleExpiry: async () => {} })
}

/** The commands sent on the seats collection while `work` runs (Agenda's own queries are on its jobs). */
async function seatCommands (t: Teardown, app: FastifyInstance, work: () => Promise<unknown>): Promise<string[]> {
  const commands: string[] = []
  const listener = (event: { commandName: string, command: Record<string, unknown> }): void => {
    if (event.command[event.commandName] === 'seats') commands.push(event.commandName)
  }
  const client = app.db.getClient()
  const stopObserving = onCommandSent(client, listener)
  try {
    await work()
  } finally {
    stopObserving()
  }
  return commands
}

/** Holds back the reply of the next seat claim (a stalled process); the database decides it meanwhile. */
function gateNextClaim (t: Teardown, app: FastifyInstance): { release: () => void, reached: Promise<void> } {
  return gateNextSeatWrite(t, app, 'findOneAndUpdate')
}

/** Holds back the reply of the next `method` call on the seats (a claim, a give-back); the database applies it meanwhile. */
function gateNextSeatWrite (t: Teardown, app: FastifyInstance, method: 'findOneAndUpdate' | 'updateMany'): { release: () => void, reached: Promise<void> } {
  const collection = app.models.Seat.collection as unknown as Record<typeof method, (...args: unknown[]) => Promise<unknown>>
  const original = collection[method].bind(collection)
  let release = (): void => {}
  let entered = (): void => {}
  const opened = new Promise<void>((resolve) => { release = resolve })
  const reached = new Promise<void>((resolve) => { entered = resolve })
  let gated = true
  collection[method] = async (...args: unknown[]) => {
    const result = await original(...args)
    if (gated) { gated = false; entered(); await opened }
    return result
  }
  t.teardown(() => { collection[method] = original })
  return { release, reached }
}

/** The error a hold was refused with. */
async function refusal (work: Promise<unknown>): Promise<AppError> {
  try {
    await work
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('the hold was not refused')
}

t.test('refusals from this instance\'s seat map', async (t) => {
  // The app's own overdue pass and sweep read lapsed seats on the same client every few seconds:
  // off, so the commands counted below are the holds' only (a pass landing in a count was a flake).
  const app = await buildTestApp(t, { OVERDUE_PASS_MS: '0', SWEEP_SECONDS: '3600' })
  const [alice, bob, carol] = [await signUp(app, 'alice'), await signUp(app, 'bob'), await signUp(app, 'carol')]
  const memoryRefusals = async (): Promise<number> => (await app.metrics.refusedFromMemory.get()).values[0]?.value ?? 0

  t.test('a seat the map shows held or booked refuses the hold with no command on the seats, naming every taken seat asked for', async (t) => {
    const { bookings, seatMaps } = serviceOver(app)
    const show = await createShow(app)
    await seatMaps.seats(show.id) // the map is served here (someone looked at it)
    const a1 = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['A1'] })
    const a3 = await bookings.holdSeats(carol.id, show.id, { seatLabels: ['A3'] })
    await bookings.confirmBooking(carol.id, a3.id)
    const before = await memoryRefusals()
    let error: AppError | undefined
    const commands = await seatCommands(t, app, async () => {
      error = await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['A3', 'A2', 'A1'] }))
    })
    t.equal(error?.statusCode, 409)
    t.equal(error?.code, 'SEATS_UNAVAILABLE')
    t.same(error?.details, { seats: ['A1', 'A3'] }, 'both taken seats named (A1 held, A3 booked), in claim order')
    t.same(commands, [], 'no claim, no compensation, no read')
    t.equal(await memoryRefusals(), before + 1, 'counted in modex_hold_conflicts_from_memory_total')
    t.equal((await seatMap(app, show.id)).counts.HELD, 1, 'A2 was not held')
    const ok = await bookings.holdSeats(bob.id, show.id, { seatLabels: ['A2', 'A4'] })
    t.same(ok.seats.map((s) => s.label).sort(), ['A2', 'A4'], 'free seats are still claimed and held')
    t.equal(a1.status, 'PENDING')
  })

  t.test('holds racing for the same seat here: one claim goes to the database, the others wait for it to come back and lose without a round trip', async (t) => {
    const users = [alice, bob, carol, await signUp(app, 'dave'), await signUp(app, 'erin'), await signUp(app, 'frank')]
    const skipped = async (): Promise<number> => (await app.metrics.claimsSkipped.get()).values[0]?.value ?? 0
    /** Every user holds `label` at once (all past the arrival check together, as in a sale's first second). */
    const race = async (label: string, prepare: (show: { id: string }, service: ReturnType<typeof serviceOver>) => Promise<void>): Promise<{ held: number, refused: AppError[], commands: string[], skipped: number }> => {
      const service = serviceOver(app)
      const show = await createShow(app)
      await service.bookableShows.seats(new Types.ObjectId(show.id)) // the show's seat index, read once per show
      await prepare(show, service)
      const before = await skipped()
      let outcomes: Array<PromiseSettledResult<unknown>> = []
      const commands = await seatCommands(t, app, async () => {
        outcomes = await Promise.allSettled(users.map(async (u) => await service.bookings.holdSeats(u.id, show.id, { seatLabels: [label] })))
      })
      const refused = outcomes.flatMap((o) => o.status === 'rejected' && o.reason instanceof AppError ? [o.reason] : [])
      return { held: outcomes.filter((o) => o.status === 'fulfilled').length, refused, commands, skipped: await skipped() - before }
    }
    const naming = (refused: AppError[]): unknown[] => refused.map((e) => [e.code, e.details?.seats ?? e.details])

    const free = await race('B5', async (show, { seatMaps }) => { await seatMaps.seats(show.id) })
    t.equal(free.held, 1, 'a free seat: one hold')
    t.same(naming(free.refused), Array(users.length - 1).fill(['SEATS_UNAVAILABLE', ['B5']]), 'the others: 409 naming it')
    t.same(free.commands, ['findAndModify'], 'one claim; no claim, give-back or read for the others')
    t.equal(free.skipped, users.length - 1, 'counted in modex_claims_skipped_from_memory_total')

    // Taken through another instance, unknown here (no map served: no memory at all): the one claim that loses speaks for all.
    const elsewhere = await race('B6', async (show) => {
      const seat = (await seatMap(app, show.id)).seats.find((s) => s.label === 'B6')
      await app.models.Seat.collection.updateOne({ _id: new Types.ObjectId(seat?.id) }, { $set: { status: 'HELD', bookingId: new Types.ObjectId(), heldUntil: new Date(Date.now() + 60_000) } })
    })
    t.equal(elsewhere.held, 0, 'a seat held elsewhere: no hold')
    t.same(naming(elsewhere.refused), Array(users.length).fill(['SEATS_UNAVAILABLE', ['B6']]), 'all refused, naming it')
    t.same(elsewhere.commands, ['findAndModify'], 'one claim, which lost, for all of them')
    t.equal(elsewhere.skipped, users.length - 1)
  })

  t.test('a claim that came back is no proof once this instance freed seats of the show since it was sent', async (t) => {
    const settle = async (work: Promise<{ status: string }>): Promise<string> => await work.then((b) => b.status, (e: unknown) => e instanceof AppError ? e.code : String(e))

    // An Idempotency-Key repeat takes over a stalled attempt: it gives back B9, which the stalled
    // claim won, and claims B9 again while that claim is still out; the claim's reply then comes.
    // Twice: on a show with no map here, and on one whose map this instance serves, where the
    // stalled win, older than the give-back, must not show B9 held (every hold of B9 would be refused).
    for (const mapServed of [false, true]) {
      const { bookings, seatMaps } = serviceOver(app)
      const show = await createShow(app)
      const b9 = (await seatMap(app, show.id)).seats.find((seat) => seat.label === 'B9')
      if (mapServed) await seatMaps.seats(show.id)
      const key = `stalled-again-${String(mapServed)}`
      const gate = gateNextClaim(t, app)
      const first = settle(bookings.holdSeats(alice.id, show.id, { seatLabels: ['B9'] }, key))
      await gate.reached
      await app.models.IdempotencyKey.updateOne({ userId: alice.id, key }, { $set: { createdAt: new Date(Date.now() - 120_000) } })
      const repeat = settle(bookings.holdSeats(alice.id, show.id, { seatLabels: ['B9'] }, key))
      // Once B9 is given back the repeat's claim of it waits for its turn (were it slower, it would
      // claim after the reply came: the same outcome).
      await waitFor('B9 given back', 10_000, async () => (await app.models.Seat.collection.findOne({ _id: new Types.ObjectId(b9?.id) }))?.status === 'AVAILABLE' ? true : undefined, 5)
      await new Promise((resolve) => setTimeout(resolve, 50))
      gate.release()
      t.equal(await repeat, 'PENDING', `the repeat holds B9: the reply that came was from before B9 was given back here (map served: ${String(mapServed)})`)
      t.equal(await first, 'DATABASE_UNAVAILABLE', 'the stalled attempt meets its fence')
      if (mapServed) {
        const served = JSON.parse((await seatMaps.get(show.id)).body) as { seats: Array<{ label: string, status: string }> }
        t.equal(served.seats.find((seat) => seat.label === 'B9')?.status, 'HELD', 'the served map: B9 held, by the repeat')
        t.equal((await app.models.Seat.collection.findOne({ _id: new Types.ObjectId(b9?.id) }))?.status, 'HELD', 'and in the database')
      }
    }

    // A lost claim's reply is late; meanwhile A7 is freed here (a cancel); a hold arriving after that is not refused by it.
    const { bookings } = serviceOver(app)
    const show2 = await createShow(app)
    const booked = await bookings.holdSeats(carol.id, show2.id, { seatLabels: ['A7'] })
    await bookings.confirmBooking(carol.id, booked.id)
    const gate2 = gateNextClaim(t, app)
    const lost = settle(bookings.holdSeats(alice.id, show2.id, { seatLabels: ['A7'] }))
    await gate2.reached
    await bookings.cancelBooking(carol.id, booked.id)
    const after = settle(bookings.holdSeats(bob.id, show2.id, { seatLabels: ['A7'] }))
    await new Promise((resolve) => setTimeout(resolve, 50))
    gate2.release()
    t.equal(await lost, 'SEATS_UNAVAILABLE', 'the claim decided while A7 was booked lost')
    t.equal(await after, 'PENDING', 'the hold that came after A7 was freed here holds it')
  })

  t.test('a stalled claim whose seat a later claim took over: its late win, older than the give-back, does not show the seat held', async (t) => {
    const { bookings, seatMaps } = serviceOver(app)
    const show = await createShow(app, { holdSeconds: 600 })
    const b9 = (await seatMap(app, show.id)).seats.find((seat) => seat.label === 'B9')?.id ?? ''
    await seatMaps.seats(show.id)
    // Alice's claim of B9 lands; its reply stalls past SEAT_CLAIM_WAIT_MS, so Bob's hold claims
    // B9 alongside (and loses) and its turn ends: no claim of the show is in that table any more
    // but Alice's. Her Idempotency-Key repeat takes over (B9 given back), holds B9 and cancels.
    const gate = gateNextClaim(t, app)
    const first = bookings.holdSeats(alice.id, show.id, { seatLabels: ['B9'] }, 'replaced-turn').then(() => 'held', (e: unknown) => e instanceof AppError ? e.code : String(e))
    await gate.reached
    await new Promise((resolve) => setTimeout(resolve, 600))
    t.same((await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['B9'] }))).details, { seats: ['B9'] }, 'Bob claimed alongside and lost')
    await app.models.IdempotencyKey.updateOne({ userId: alice.id, key: 'replaced-turn' }, { $set: { createdAt: new Date(Date.now() - 120_000) } })
    const repeat = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['B9'] }, 'replaced-turn')
    await bookings.cancelBooking(alice.id, repeat.id)
    await seatMaps.seats(show.id) // read again (the take-over's give-back could not list its seats)
    t.equal(seatMaps.known(show.id)?.statusOf(b9), 'AVAILABLE', 'the map: B9 free')
    // The stalled reply comes: a hold of B9 made the moment the map hears of it is not refused.
    let carols: Promise<string> | undefined
    const apply = seatMaps.apply
    const invalidate = seatMaps.invalidate
    const next = (): void => { carols ??= bookings.holdSeats(carol.id, show.id, { seatLabels: ['B9'] }).then((b) => b.status, (e: unknown) => e instanceof AppError ? e.code : String(e)) }
    seatMaps.apply = (...args) => { apply(...args); next() }
    seatMaps.invalidate = (...args) => { invalidate(...args); next() }
    t.teardown(() => { seatMaps.apply = apply; seatMaps.invalidate = invalidate })
    gate.release()
    t.equal(await first, 'DATABASE_UNAVAILABLE', 'the stalled attempt meets its fence')
    t.equal(await carols, 'PENDING', 'Carol holds B9: the map never showed it held by the stalled win')
  })

  t.test('a seat an expiry here frees while a claim of it is at the database: the win still goes into the map (a free for another booking cannot undo it)', async (t) => {
    const { bookings, seatMaps } = serviceOver(app)
    const show = await createShow(app)
    const lapsing = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['B4'] })
    const b4 = lapsing.seats[0].id
    // Alice's hold has lapsed (its end moved into the past at the database), and the map knows its end.
    await app.models.Booking.collection.updateOne({ _id: new Types.ObjectId(lapsing.id) }, { $set: { expiresAt: new Date(Date.now() - 1000) } })
    await app.models.Seat.collection.updateOne({ _id: new Types.ObjectId(b4) }, { $set: { heldUntil: new Date(Date.now() - 1000) } })
    await seatMaps.freshSeats(show.id, Date.now())
    // The expiry's give-back lands, its reply held back; Bob's claim of B4 lands, its reply held
    // back; the expiry then tells the map (B4 free), and then Bob's win comes.
    const giveBack = gateNextSeatWrite(t, app, 'updateMany')
    const expiring = bookings.expireHold(new Types.ObjectId(lapsing.id))
    await giveBack.reached
    const claim = gateNextClaim(t, app)
    const bobs = bookings.holdSeats(bob.id, show.id, { seatLabels: ['B4'] })
    await claim.reached
    giveBack.release()
    t.equal(await expiring, true, 'the hold expired')
    claim.release()
    t.equal((await bobs).status, 'PENDING', 'Bob holds B4')
    t.equal(seatMaps.known(show.id)?.statusOf(b4), 'HELD', 'the map, still current: B4 held')
  })

  t.test('a change this instance cannot list, in a rush, does not keep the wins after it out of the map', async (t) => {
    const { bookings, seatMaps, mapReads } = serviceOver(app)
    const show = await createShow(app, { seating: { totalSeats: 100, seatsPerRow: 10 } })
    const labels = (await seatMap(app, show.id)).seats.map((s) => s.label)
    await seatMaps.seats(show.id)
    // A FAILED booking still holding a seat: its expire-hold job frees it without listing it.
    const failed = await bookings.holdSeats(alice.id, show.id, { seatLabels: [labels[99]] })
    await app.models.Booking.updateOne({ _id: new Types.ObjectId(failed.id) }, { $set: { status: 'FAILED' } })
    // Claims take 40 ms, holds arrive every 10 ms: about four are out at any time.
    const collection = app.models.Seat.collection
    const findOneAndUpdate = collection.findOneAndUpdate.bind(collection)
    ;(collection as unknown as { findOneAndUpdate: unknown }).findOneAndUpdate = async (...args: Parameters<typeof findOneAndUpdate>) => {
      const result = await findOneAndUpdate(...args)
      await new Promise((resolve) => setTimeout(resolve, 40))
      return result
    }
    t.teardown(() => { (collection as unknown as { findOneAndUpdate: unknown }).findOneAndUpdate = findOneAndUpdate })
    let invalidations = 0
    let heldPatches = 0
    const { apply, invalidate } = seatMaps
    seatMaps.invalidate = (showId) => { invalidations++; invalidate(showId) }
    seatMaps.apply = (showId, seatIds, status, heldUntil) => { if (status === 'HELD') heldPatches++; apply(showId, seatIds, status, heldUntil) }
    t.teardown(() => { seatMaps.apply = apply; seatMaps.invalidate = invalidate })
    const readsBefore = mapReads.length
    const holds: Array<Promise<unknown>> = []
    for (let i = 0; i < 60; i++) {
      holds.push(bookings.holdSeats([alice, bob, carol][i % 3].id, show.id, { seatLabels: [labels[i]] }))
      if (i === 10) t.equal(await bookings.expireHoldJob(new Types.ObjectId(failed.id)), true, 'the unlisted change')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    t.equal((await Promise.allSettled(holds)).filter((o) => o.status === 'fulfilled').length, 60, 'every hold held')
    t.ok(heldPatches >= 50, `the wins went into the map (${heldPatches} of 60)`)
    t.ok(invalidations <= 6, `the map invalidated by the change and the few wins out with it, not by every win after (${invalidations})`)
    t.ok(mapReads.length - readsBefore <= 6, `and read again as often (${mapReads.length - readsBefore})`)
  })

  t.test('a claim that loses names the taken seats from the map: one claim, no read', async (t) => {
    const { bookings, seatMaps, bookableShows } = serviceOver(app)
    const show = await createShow(app)
    await bookableShows.seats(new Types.ObjectId(show.id)) // the show's seat index, read once per show
    const ids = Object.fromEntries((await seatMap(app, show.id)).seats.map((s) => [s.label, new Types.ObjectId(s.id)]))
    // A3 held by someone whose hold ends in half a second: the map knows, but it may lapse any moment, so it is claimed, not trusted.
    await app.models.Seat.collection.updateOne({ _id: ids.A3 }, { $set: { status: 'HELD', bookingId: new Types.ObjectId(), heldUntil: new Date(Date.now() + 500) } })
    await seatMaps.freshSeats(show.id, Date.now())
    // A2 taken by another instance after the map was read: the map does not know.
    await app.models.Seat.collection.updateOne({ _id: ids.A2 }, { $set: { status: 'HELD', bookingId: new Types.ObjectId(), heldUntil: new Date(Date.now() + 60_000) } })
    const before = await memoryRefusals()
    let error: AppError | undefined
    const commands = await seatCommands(t, app, async () => {
      error = await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['A3', 'A2'] }))
    })
    t.equal(error?.code, 'SEATS_UNAVAILABLE')
    t.same(error?.details, { seats: ['A2', 'A3'] }, 'A2 (its claim lost) and A3 (the map shows it held)')
    t.same(commands, ['findAndModify'], 'the one claim that lost; the names cost no read')
    t.equal(await memoryRefusals(), before, 'not a refusal from memory')
  })

  t.test('without a current map, one read of only the seats never tried', async (t) => {
    const { bookings } = serviceOver(app)
    const show = await createShow(app)
    await bookings.holdSeats(alice.id, show.id, { seatLabels: ['A2', 'A3'] })
    let error: AppError | undefined
    const commands = await seatCommands(t, app, async () => {
      error = await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['A1', 'A2', 'A3', 'A4'] }))
    })
    t.same(error?.details, { seats: ['A2', 'A3'] }, 'the lost A2, and A3 found taken; A1 (claimed, given back) and A4 are free')
    t.same(commands, ['findAndModify', 'findAndModify', 'update', 'find'], 'claims A1 and A2, gives A1 back, reads A3 and A4')
    const lastOnly = await seatCommands(t, app, async () => {
      error = await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['A1', 'A3'] }))
    })
    t.same(error?.details, { seats: ['A3'] })
    t.same(lastOnly, ['findAndModify', 'findAndModify', 'update'], 'the last seat lost: nothing left to read')
  })

  t.test('a show nobody looked at here: a hold lost while others of the show are claiming reads its map, and the next losers cost no command; a lone 409 reads nothing', async (t) => {
    const { bookings, seatMaps, mapReads } = serviceOver(app)
    const show = await createShow(app)
    await bookings.holdSeats(alice.id, show.id, { seatLabels: ['B1'] })
    const lone = await seatCommands(t, app, async () => {
      t.same((await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['B1'] }))).details, { seats: ['B1'] })
    })
    t.same(lone, ['findAndModify'], 'a lone loser: its claim')
    t.same(mapReads, [], 'no map read started')
    t.equal(seatMaps.known(show.id), undefined, 'and no map here')

    // Carol's claim of B7 is at the database (its reply held back) when Bob's hold of B1 loses: a rush.
    const gate = gateNextClaim(t, app)
    const carols = bookings.holdSeats(carol.id, show.id, { seatLabels: ['B7'] })
    await gate.reached
    t.same((await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['B1'] }))).details, { seats: ['B1'] })
    t.same(mapReads, [show.id], 'the loser started a read of the show\'s map')
    const known = await waitFor('the show\'s map read', 5000, async () => seatMaps.known(show.id))
    const b1 = (await seatMap(app, show.id)).seats.find((s) => s.label === 'B1')
    t.equal(known.statusOf(b1?.id ?? ''), 'HELD', 'the map, read: B1 held')
    const next = await seatCommands(t, app, async () => {
      t.same((await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['B1', 'B2'] }))).details, { seats: ['B1'] })
    })
    t.same(next, [], 'the next loser: refused from the map, no claim, no read')
    gate.release()
    t.equal((await carols).status, 'PENDING', 'the held-back claim still wins its seat')
  })

  t.test('a hold of several seats, one of them being claimed here: it waits for that claim and loses without claiming the others, which stay free for other holds', async (t) => {
    const { bookings } = serviceOver(app)
    const show = await createShow(app)
    const dave = await signUp(app, 'dave-several')
    // Carol's claim of B8 is at the database, its reply held back.
    const gate = gateNextClaim(t, app)
    const carols = bookings.holdSeats(carol.id, show.id, { seatLabels: ['B8'] })
    await gate.reached
    const bobs = refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['B3', 'B8'] }))
    await new Promise((resolve) => setTimeout(resolve, 200))
    // Claimed first and given back after B8 lost, B3 would be HELD now, and Dave's hold of it refused.
    const daves = await bookings.holdSeats(dave.id, show.id, { seatLabels: ['B3'] })
    t.equal(daves.status, 'PENDING', 'B3 was never claimed for Bob: Dave holds it')
    gate.release()
    t.equal((await carols).status, 'PENDING', 'Carol holds B8')
    const refused = await bobs
    t.equal(refused.code, 'SEATS_UNAVAILABLE')
    t.same([...(refused.details?.seats as string[])].sort(), ['B3', 'B8'], 'Bob\'s 409 names B8 (lost) and B3 (taken since)')
    const seats = await statusByLabel(app, show.id)
    t.same([seats.B3, seats.B8], ['HELD', 'HELD'])
  })

  t.test('seats freed through this instance are holdable at once, the map still current', async (t) => {
    const { bookings, seatMaps } = serviceOver(app)
    const show = await createShow(app)
    await seatMaps.seats(show.id)
    const held = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['A1', 'A2'] })
    t.equal((await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['A1'] }))).code, 'SEATS_UNAVAILABLE')
    await bookings.cancelBooking(alice.id, held.id)
    t.equal((await bookings.holdSeats(bob.id, show.id, { seatLabels: ['A1'] })).status, 'PENDING', 'cancelled: held again at once')
    // A lapsed hold expired here.
    const lapsing = await bookings.holdSeats(carol.id, show.id, { seatLabels: ['A5'] })
    await bookings.confirmBooking(carol.id, (await bookings.holdSeats(carol.id, show.id, { seatLabels: ['A6'] })).id)
    await app.models.Booking.updateOne({ _id: lapsing.id }, { $set: { expiresAt: new Date(Date.now() - 1) } })
    t.ok(await bookings.expireHold(new Types.ObjectId(lapsing.id)))
    t.equal((await bookings.holdSeats(bob.id, show.id, { seatLabels: ['A5'] })).status, 'PENDING', 'expired: held again at once')
    t.same((await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['A6'] }))).details, { seats: ['A6'] }, 'booked stays refused')
  })

  t.test('a confirm whose seats a cancel freed before it could book them does not show them BOOKED', async (t) => {
    const { bookings, seatMaps, mapReads } = serviceOver(app)
    const show = await createShow(app)
    await seatMaps.seats(show.id)
    const held = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['A1', 'A2'] })
    // The owner's cancel lands between the confirm's win on the booking and its seats' HELD → BOOKED.
    const seats = app.models.Seat.collection as unknown as { updateMany: (...args: unknown[]) => Promise<unknown> }
    const original = seats.updateMany.bind(seats)
    let cancelled = false
    seats.updateMany = async (...args: unknown[]) => {
      const update = args[1] as { $set?: { status?: string } }
      if (!cancelled && update.$set?.status === 'BOOKED') {
        cancelled = true
        await bookings.cancelBooking(alice.id, held.id)
      }
      return await original(...args)
    }
    t.teardown(() => { seats.updateMany = original })
    await bookings.confirmBooking(alice.id, held.id)
    seats.updateMany = original
    t.ok(cancelled, 'the cancel ran inside the confirm')
    const inDatabase = await app.models.Seat.collection.find({ showId: new Types.ObjectId(show.id), label: { $in: ['A1', 'A2'] } }).toArray()
    t.same(inDatabase.map((s) => s.status), ['AVAILABLE', 'AVAILABLE'], 'the cancel freed the seats; the confirm booked none')
    t.equal((await bookings.holdSeats(bob.id, show.id, { seatLabels: ['A1'] })).status, 'PENDING', 'a free seat is held, not refused as BOOKED from the map')
    // A repeated confirm moves nothing: the map, BOOKED already, is kept (no read per repeat).
    const booked = await bookings.holdSeats(carol.id, show.id, { seatLabels: ['A5'] })
    await bookings.confirmBooking(carol.id, booked.id)
    const reads = mapReads.length
    t.equal((await bookings.confirmBooking(carol.id, booked.id)).status, 'CONFIRMED', 'confirming twice answers the same')
    t.same((await refusal(bookings.holdSeats(bob.id, show.id, { seatLabels: ['A5'] }))).details, { seats: ['A5'] }, 'the booked seat is still refused')
    t.equal(mapReads.length, reads, 'from the map kept, not from one read again')
  })

  t.test('a map read knows when the database read its seats (the freshness a refusal from memory is judged by)', async (t) => {
    const show = await createShow(app)
    const before = Date.now()
    const read = await seatMapCacheReader(app.models)(show.id)
    t.equal(read.map.seats.length, 20)
    t.ok(read.observedAt !== undefined && read.observedAt >= before && read.observedAt <= Date.now(), 'the seats\' query was seen leaving')
  })

  t.test('an attempt taken over by an Idempotency-Key repeat, whose claim\'s reply comes late, leaves no seat HELD in the map once it is fenced', async (t) => {
    const { bookings, seatMaps } = serviceOver(app)
    const show = await createShow(app)
    await seatMaps.get(show.id)
    // The first claim's reply is held back (a stalled process): B9 is HELD for the attempt in the database.
    const { release, reached } = gateNextClaim(t, app)
    const first = refusal(bookings.holdSeats(alice.id, show.id, { seatLabels: ['B9'] }, 'stalled'))
    await reached
    // Its key is taken over as abandoned: the repeat gives B9 back, holds it again; then it is cancelled.
    await app.models.IdempotencyKey.updateOne({ userId: alice.id, key: 'stalled' }, { $set: { createdAt: new Date(Date.now() - 120_000) } })
    const repeat = await bookings.holdSeats(alice.id, show.id, { seatLabels: ['B9'] }, 'stalled')
    await bookings.cancelBooking(alice.id, repeat.id)
    await seatMaps.get(show.id)
    t.equal(seatMaps.known(show.id)?.statusOf(repeat.seats[0].id), 'AVAILABLE', 'B9 is free, and the map knows')
    // The stalled attempt's claim reply arrives: it tells the map B9 is HELD (for it), then its insert meets the fence.
    release()
    t.equal((await first).statusCode, 503, 'the abandoned attempt is answered 503')
    const seat = await app.models.Seat.findById(repeat.seats[0].id).lean<{ status: string }>()
    t.equal(seat?.status, 'AVAILABLE')
    t.equal((await bookings.holdSeats(bob.id, show.id, { seatLabels: ['B9'] })).status, 'PENDING', 'B9 is held by the next who asks, not refused from the map')
  })

  t.test('seats given back after a claim failed on the database are holdable once the give-back lands', async (t) => {
    const { bookings, seatMaps } = serviceOver(app)
    const show = await createShow(app)
    await seatMaps.get(show.id)
    const collection = app.models.Seat.collection
    const { findOneAndUpdate, updateMany } = collection
    let claims = 0
    // The second claim fails (the database went away mid-hold); the give-back of the first is slow.
    ;(collection as unknown as { findOneAndUpdate: unknown }).findOneAndUpdate = async (...args: Parameters<typeof findOneAndUpdate>) => {
      if (++claims === 2) throw new Error('connection lost')
      return await findOneAndUpdate.apply(collection, args)
    }
    let release = (): void => {}
    const opened = new Promise<void>((resolve) => { release = resolve })
    let landed = (): void => {}
    const done = new Promise<void>((resolve) => { landed = resolve })
    ;(collection as unknown as { updateMany: unknown }).updateMany = async (...args: Parameters<typeof updateMany>) => {
      ;(collection as unknown as { updateMany: unknown }).updateMany = updateMany
      await opened
      try { return await updateMany.apply(collection, args) } finally { setImmediate(landed) }
    }
    t.teardown(() => { Object.assign(collection, { findOneAndUpdate, updateMany }) })
    await t.rejects(bookings.holdSeats(alice.id, show.id, { seatLabels: ['A9', 'A10'] }), { message: 'connection lost' })
    ;(collection as unknown as { findOneAndUpdate: unknown }).findOneAndUpdate = findOneAndUpdate
    // The map is read while the first seat is still HELD for the failed hold.
    await seatMaps.get(show.id)
    const first = [...(await seatMaps.seats(show.id)).seats].find((s) => s.label === 'A9' || s.label === 'A10' ? s.status === 'HELD' : false)
    t.ok(first !== undefined, 'one seat is still held for it')
    release()
    await done
    t.equal((await app.models.Seat.findById(first?.id).lean<{ status: string }>())?.status, 'AVAILABLE', 'given back')
    t.equal((await bookings.holdSeats(bob.id, show.id, { seatLabels: [first?.label ?? ''] })).status, 'PENDING', 'held by the next who asks, not refused from the map')
  })

  t.test('through HTTP: the 409 body names both taken seats', async (t) => {
    const show = await createShow(app)
    const ids = Object.fromEntries((await seatMap(app, show.id)).seats.map((s) => [s.label, s.id]))
    t.equal((await hold(app, alice.authorization, show.id, { seatLabels: ['B2'] })).statusCode, 201)
    t.equal((await hold(app, carol.authorization, show.id, { seatIds: [ids.B4] })).statusCode, 201)
    const res = await hold(app, bob.authorization, show.id, { seatIds: [ids.B4, ids.B3, ids.B2] })
    const body = expectError(t, res, 409, 'SEATS_UNAVAILABLE')
    t.same([...(body.details?.seats as string[])].sort(), ['B2', 'B4'])
    t.equal((await seatMap(app, show.id)).seats.find((s) => s.label === 'B3')?.status, 'AVAILABLE', 'nothing held')
    t.equal(json<{ status: string }>(await hold(app, bob.authorization, show.id, { seatLabels: ['B3'] })).status, 'PENDING')
  })
})
