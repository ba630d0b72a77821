// Expiry in bulk (a backlog of holds lapsing together): the same conditions as one booking's
// expiry, per booking — PENDING ∧ expiresAt ≤ now → FAILED, a confirmed or not yet due booking
// untouched, seats freed only for FAILED bookings — and the jobs of what it expired end without
// doing it again. Hold times are long (jobs far away) and made due by moving expiresAt back, so
// nothing but the call under test expires anything.
import t from 'tap'
import { Types } from 'mongoose'
import { auditSeats } from '../audit.js'
import { buildTestApp, confirm, createShow, holdOk, seatMap, signUp, statusByLabel, waitFor } from '../helper.js'
import { bookingServiceOver } from './support.js'
import { onCommandSent } from '../../src/driver-hooks.js'

type App = Awaited<ReturnType<typeof buildTestApp>>

/** Moves a PENDING booking's hold (booking and seats) into the past, as if its time had run out. */
async function lapse (app: App, bookingId: string, msAgo = 1000): Promise<void> {
  const at = new Date(Date.now() - msAgo)
  await app.models.Booking.updateOne({ _id: bookingId }, { $set: { expiresAt: at } })
  await app.models.Seat.updateMany({ bookingId, status: 'HELD' }, { $set: { heldUntil: at } })
}

function statusesOf (map: { seats: Array<{ label: string, status: string }> }, labels: string[]): string[] {
  return labels.map((label) => map.seats.find((s) => s.label === label)?.status ?? 'missing')
}

async function statusOf (app: App, bookingId: string): Promise<{ status: string, failureReason?: string }> {
  const booking = await app.models.Booking.findById(bookingId, { status: 1, failureReason: 1 }).lean<{ status: string, failureReason?: string }>()
  if (booking === null) throw new Error(`booking ${bookingId} is gone`)
  return booking
}

t.test('a bulk pass fails exactly the overdue PENDING bookings and frees their seats; a confirmed one and one not yet due keep theirs', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '300', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0' })
  const show = await createShow(app)
  const user = await signUp(app)
  const overdue = [await holdOk(app, user.authorization, show.id, ['A1', 'A2']), await holdOk(app, user.authorization, show.id, ['A3'])]
  const confirmed = await holdOk(app, user.authorization, show.id, ['B1'])
  const live = await holdOk(app, user.authorization, show.id, ['B2'])
  t.equal((await confirm(app, user.authorization, confirmed.id)).statusCode, 200)
  for (const b of overdue) await lapse(app, b.id)
  // Confirmed before its time ran out, its expiresAt now lies in the past too: only PENDING may fail.
  await app.models.Booking.updateOne({ _id: confirmed.id }, { $set: { expiresAt: new Date(Date.now() - 1000) } })

  const expired = await app.services.bookings.expireOverdueHoldsInBulk()
  t.same(expired.map((id) => id.toHexString()).sort(), overdue.map((b) => b.id).sort(), 'the ids of the two overdue bookings')
  for (const b of overdue) t.same(await statusOf(app, b.id), { _id: new Types.ObjectId(b.id), status: 'FAILED', failureReason: 'EXPIRED' }, `${b.id} FAILED as its own job would leave it`)
  t.equal((await statusOf(app, confirmed.id)).status, 'CONFIRMED')
  t.equal((await statusOf(app, live.id)).status, 'PENDING')
  const seats = await statusByLabel(app, show.id)
  t.same([seats.A1, seats.A2, seats.A3, seats.B1, seats.B2], ['AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'BOOKED', 'HELD'])
  t.same(await app.services.bookings.expireOverdueHoldsInBulk(), [], 'a second pass finds nothing')
  t.same(await auditSeats(app.models), [], 'every seat AVAILABLE, HELD by a live booking or BOOKED by a confirmed one')
})

t.test('a booking whose hold ends after the pass started is not expired by it (never before expiresAt)', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '300', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0' })
  const show = await createShow(app)
  const user = await signUp(app)
  const b = await holdOk(app, user.authorization, show.id, ['A1'])
  await lapse(app, b.id, -60_000)
  t.same(await app.services.bookings.expireOverdueHoldsInBulk(new Date(Date.now() + 30_000)), [], 'due in 60 s, not at now + 30 s')
  t.equal((await statusOf(app, b.id)).status, 'PENDING')
  t.equal((await statusByLabel(app, show.id)).A1, 'HELD')
})

t.test('the job of a booking expired in bulk ends without a database round trip; another booking\'s job still expires it', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '300', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0' })
  const show = await createShow(app)
  const user = await signUp(app)
  const first = await holdOk(app, user.authorization, show.id, ['A1'])
  await lapse(app, first.id)
  t.equal((await app.services.bookings.expireOverdueHoldsInBulk()).length, 1)
  const second = await holdOk(app, user.authorization, show.id, ['A2'])
  await lapse(app, second.id)
  // Count the booking and seat commands the jobs send (Agenda's own go to agendaJobs).
  let commands = 0
  const client = app.models.Booking.db.getClient()
  const count = (event: { commandName: string, command: Record<string, unknown> }): void => {
    const target = event.command[event.commandName]
    if (target === 'bookings' || target === 'seats') commands++
  }
  const stopObserving = onCommandSent(client, count)
  t.teardown(stopObserving)
  t.equal(await app.services.bookings.expireHoldJob(new Types.ObjectId(first.id)), false, 'nothing left to do')
  t.equal(commands, 0, 'and asked the database nothing')
  t.equal(await app.services.bookings.expireHoldJob(new Types.ObjectId(second.id)), true, 'a booking the pass did not take is expired by its job')
  t.ok(commands > 0)
  t.same([(await statusOf(app, second.id)).status, (await statusByLabel(app, show.id)).A2], ['FAILED', 'AVAILABLE'])
})

t.test('a late expire-hold job catches up: every overdue booking expired in bulk, the unlocked jobs of those it expired removed', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '300', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0' })
  const show = await createShow(app)
  const users = await Promise.all([0, 1, 2].map(async (k) => await signUp(app, `u${k}`)))
  const labels = ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'B1', 'B2']
  const bookings = await Promise.all(labels.map(async (label, k) => await holdOk(app, users[k % 3].authorization, show.id, [label])))
  for (const b of bookings) await lapse(app, b.id, 5000)
  const jobs = app.models.Booking.db.collection('agendaJobs')
  // One job made due now, five seconds after its booking's end (the others stay 300 s away): late.
  const late = bookings[0].id
  const moved = await jobs.updateOne({ 'data.bookingId': late }, { $set: { nextRunAt: new Date(), 'data.expiresAt': new Date(Date.now() - 5000).toISOString() } })
  t.equal(moved.modifiedCount, 1)
  await waitFor('every overdue booking to be expired', 15_000, async () =>
    await app.models.Booking.countDocuments({ status: 'PENDING' }) === 0 ? true : undefined)
  for (const b of bookings) t.same(await statusOf(app, b.id), { _id: new Types.ObjectId(b.id), status: 'FAILED', failureReason: 'EXPIRED' })
  const seats = await statusByLabel(app, show.id)
  t.same(labels.filter((l) => seats[l] !== 'AVAILABLE'), [], 'all their seats AVAILABLE')
  await waitFor('their jobs to be gone', 15_000, async () => await jobs.countDocuments({ 'data.bookingId': { $in: bookings.map((b) => b.id) } }) === 0 ? true : undefined)
  t.same(await auditSeats(app.models), [])
})

/**
 * Runs `between` once, just before the pass's next updateMany of bookings (its conditional
 * PENDING → FAILED) reaches the database: a concurrent request landing between the pass's read of
 * the overdue bookings and its write. The real updateMany then runs as usual.
 */
function beforeBulkFail (t: { teardown: (fn: () => unknown) => void }, app: App, between: () => Promise<void>): void {
  const bookings = app.models.Booking.collection
  const real = bookings.updateMany
  t.teardown(() => { bookings.updateMany = real })
  bookings.updateMany = (async (...args: Parameters<typeof real>) => {
    bookings.updateMany = real
    await between()
    return await real.apply(bookings, args)
  }) as unknown as typeof real
}

t.test('a confirm landing between the pass\'s read and its write wins: the booking stays CONFIRMED, its seats BOOKED', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '300', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0' })
  const show = await createShow(app)
  const user = await signUp(app)
  const b = await holdOk(app, user.authorization, show.id, ['A1', 'A2'])
  // The pass's clock is past the hold's end (another instance's, or the hold ends during the pass); the confirm's is not.
  await lapse(app, b.id, -30_000)
  let confirmStatus = 0
  beforeBulkFail(t, app, async () => { confirmStatus = (await confirm(app, user.authorization, b.id)).statusCode })
  t.same(await app.services.bookings.expireOverdueHoldsInBulk(new Date(Date.now() + 60_000)), [], 'the pass expired nothing')
  t.equal(confirmStatus, 200, 'the confirm was answered 200')
  t.equal((await statusOf(app, b.id)).status, 'CONFIRMED')
  const seats = await app.models.Seat.find({ showId: show.id }, { label: 1, status: 1, bookingId: 1 }).sort({ label: 1 }).lean()
  t.same(seats.filter((s) => s.label === 'A1' || s.label === 'A2').map((s) => [s.label, s.status, String(s.bookingId)]),
    [['A1', 'BOOKED', b.id], ['A2', 'BOOKED', b.id]], 'its seats BOOKED for it, none freed')
  t.same(await auditSeats(app.models), [])
})

t.test('a pass that finds a booking another expirer failed frees only what is still HELD for it: a seat held since by a new booking is untouched', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '300', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0' })
  const show = await createShow(app)
  const [first, second] = [await signUp(app, 'first'), await signUp(app, 'second')]
  const old = await holdOk(app, first.authorization, show.id, ['A1', 'A2'])
  await lapse(app, old.id)
  await seatMap(app, show.id) // served here: this instance keeps the show's map
  let taken: { id: string } | undefined
  beforeBulkFail(t, app, async () => {
    // Between the pass's read and its write: the booking's own job expires it and frees its seats,
    // and a new hold takes one of them.
    t.equal(await app.services.bookings.expireHold(new Types.ObjectId(old.id)), true)
    taken = await holdOk(app, second.authorization, show.id, ['A1'])
  })
  const expired = await app.services.bookings.expireOverdueHoldsInBulk()
  t.same(expired.map((id) => id.toHexString()), [old.id], 'the pass reports the booking FAILED (it checked its seats)')
  const a1 = await app.models.Seat.findOne({ showId: show.id, label: 'A1' }, { status: 1, bookingId: 1 }).lean()
  t.same([a1?.status, String(a1?.bookingId)], ['HELD', taken?.id], 'A1 still HELD by the new booking')
  // The pass freed fewer seats than it listed, so it cannot tell the seat map which: the map is
  // read again rather than told A1 is AVAILABLE.
  t.same(statusesOf(await seatMap(app, show.id), ['A1', 'A2']), ['HELD', 'AVAILABLE'], 'the served map: A1 HELD by the new booking, A2 free')
  t.equal((await statusOf(app, taken?.id ?? '')).status, 'PENDING')
  t.same(await auditSeats(app.models), [])
})

t.test('a pass that frees every seat it listed tells this instance\'s seat map which: no re-read, and holds are still refused from memory meanwhile', async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '300', SWEEP_SECONDS: '3600', OVERDUE_PASS_MS: '0' })
  // A booking service of its own whose seat map is never too old to answer (the app's is 1 s at
  // most): what is measured is whether the pass left it current, not how fast this machine is.
  const { bookings, seatMaps } = bookingServiceOver(app, { seatMapMaxAgeMs: 60_000, seatMapHardMaxAgeMs: 120_000, scheduleExpiry: async () => {} })
  const show = await createShow(app)
  const [first, second] = [await signUp(app, 'first'), await signUp(app, 'second')]
  const ids = Object.fromEntries((await seatMaps.seats(show.id)).seats.map((s) => [s.label, s.id])) // served here
  const lapsing = await bookings.holdSeats(first.id, show.id, { seatLabels: ['A1', 'A2'] })
  await bookings.holdSeats(second.id, show.id, { seatLabels: ['B1'] })
  await lapse(app, lapsing.id)
  // Every command on the seats from here on: a read of the map, a claim.
  const sent: string[] = []
  const stopObserving = onCommandSent(app.db.getClient(), ({ commandName, command }) => {
    if (command[commandName] === 'seats' && (commandName === 'find' || commandName === 'findAndModify')) sent.push(commandName)
  })
  t.teardown(stopObserving)
  t.same((await bookings.expireOverdueHoldsInBulk()).map((id) => id.toHexString()), [lapsing.id])
  const known = seatMaps.known(show.id)
  t.ok(known !== undefined, 'the map is still current')
  t.same(['A1', 'A2', 'B1'].map((label) => known?.statusOf(ids[label])), ['AVAILABLE', 'AVAILABLE', 'HELD'], 'the freed seats AVAILABLE, B1 still HELD')
  // B1 is held for five more minutes: refused from the map, no claim sent.
  const refused = await bookings.holdSeats(first.id, show.id, { seatIds: [ids.B1] }).then(() => undefined, (error: unknown) => error)
  t.equal((refused as { statusCode?: number } | undefined)?.statusCode, 409)
  t.same(sent, [], 'no seat read, no claim: the map answered')
  t.same((await seatMaps.seats(show.id)).seats.filter((s) => ['A1', 'A2', 'B1'].includes(s.label)).map((s) => s.status), ['AVAILABLE', 'AVAILABLE', 'HELD'], 'and serves the freed seats as free')
  t.same(await auditSeats(app.models), [])
})
