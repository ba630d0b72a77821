import t from 'tap'
import { Types } from 'mongoose'
import { createBookableShowCache, type BookableShowDoc } from '../../src/services/bookable-show-cache.js'
import { adminAuth, buildTestApp, createShow, hold, seatMap, signUp } from '../helper.js'
import { expectError, MISSING_ID } from '../routes/contract.js'
import { onCommandSent } from '../../src/driver-hooks.js'

// The hold path's memory of shows (issue 13), with readers that count their calls: how many
// round trips it saves, and that what it serves is never older than an invalidation.

function fixture (maxAgeMs = 60_000) {
  const showId = new Types.ObjectId()
  const seats = [{ _id: new Types.ObjectId(), label: 'A1' }, { _id: new Types.ObjectId(), label: 'A2' }]
  let status = 'SCHEDULED'
  let showReads = 0
  let seatReads = 0
  let failNext = false
  const cache = createBookableShowCache(
    async (id) => {
      showReads++
      await Promise.resolve()
      if (failNext) { failNext = false; throw new Error('database down') }
      return id.equals(showId) ? { _id: showId, status, startTime: new Date(Date.now() + 86_400_000), holdSeconds: 120, priceCents: 100, name: 'Show', type: 'MOVIE', venue: 'Screen 1' } satisfies BookableShowDoc : null
    },
    async (id) => { seatReads++; return id.equals(showId) ? seats : [] },
    maxAgeMs
  )
  return {
    cache, showId, seats,
    setStatus: (s: string) => { status = s },
    failNextRead: () => { failNext = true },
    reads: () => ({ show: showReads, seats: seatReads })
  }
}

t.test('concurrent holds share one read of the show; later ones within the window read nothing', async (t) => {
  const f = fixture()
  const shows = await Promise.all(Array.from({ length: 50 }, async () => await f.cache.show(f.showId)))
  t.ok(shows.every((s) => s?.status === 'SCHEDULED'))
  await f.cache.show(f.showId)
  t.equal(f.reads().show, 1, 'one round trip for 51 holds')
})

t.test('an invalidation makes the next hold read the show again (a cancel is seen at once)', async (t) => {
  const f = fixture()
  t.equal((await f.cache.show(f.showId))?.status, 'SCHEDULED')
  f.setStatus('CANCELLED')
  f.cache.invalidate(f.showId.toHexString().toUpperCase())
  t.equal((await f.cache.show(f.showId))?.status, 'CANCELLED', 'invalidated in any letter case')
  t.equal(f.reads().show, 2)
})

t.test('a read that an invalidation overtook is not kept', async (t) => {
  const f = fixture()
  const inFlight = f.cache.show(f.showId)
  f.setStatus('CANCELLED')
  f.cache.invalidate(f.showId.toHexString())
  await inFlight
  t.equal((await f.cache.show(f.showId))?.status, 'CANCELLED', 'the next hold reads after the change')
})

t.test('past its age the show is read again (the window another instance\'s change can take)', async (t) => {
  const f = fixture(0)
  await f.cache.show(f.showId)
  await f.cache.show(f.showId)
  t.equal(f.reads().show, 2)
})

t.test('a failed read is not remembered; a missing show is null', async (t) => {
  const f = fixture()
  f.failNextRead()
  await t.rejects(f.cache.show(f.showId), /database down/)
  t.equal((await f.cache.show(f.showId))?.status, 'SCHEDULED', 'the next hold reads again')
  t.equal(await f.cache.show(new Types.ObjectId()), null)
})

t.test('the seat index is read once per show, by label and by id; a seatless show is not remembered', async (t) => {
  const f = fixture()
  const [a, b] = await Promise.all([f.cache.seats(f.showId), f.cache.seats(f.showId)])
  t.equal(a, b)
  t.ok(a.idOfLabel.get('A2')?.equals(f.seats[1]._id))
  t.equal(a.labelOfId.get(f.seats[0]._id.toHexString()), 'A1')
  await f.cache.seats(f.showId)
  t.equal(f.reads().seats, 1)
  const other = new Types.ObjectId()
  t.equal((await f.cache.seats(other)).idOfLabel.size, 0)
  await f.cache.seats(other)
  t.equal(f.reads().seats, 3, 'an empty index is read again next time')
})

t.test('through the app: a show cancelled here takes no hold even while it is remembered; unknown seats cost no claim', async (t) => {
  const app = await buildTestApp(t)
  const show = await createShow(app)
  const user = await signUp(app)
  t.equal((await hold(app, user.authorization, show.id, { seatLabels: ['A1'] })).statusCode, 201, 'the show is now in memory')
  const commands: string[] = []
  // Commands on the seats (Agenda's own lock queries, findAndModify on its jobs, run meanwhile).
  const listener = (event: { commandName: string, command: Record<string, unknown> }): void => {
    if (event.command[event.commandName] === 'seats') commands.push(event.commandName)
  }
  t.teardown(onCommandSent(app.db.getClient(), listener))
  const unknown = expectError(t, await hold(app, user.authorization, show.id, { seatIds: [MISSING_ID] }), 400, 'UNKNOWN_SEATS')
  t.same(unknown.details, { seats: [MISSING_ID] }, 'names the id')
  t.same(commands.filter((c) => c === 'findAndModify' || c === 'update'), [], 'an id that is no seat of the show is refused without a claim')
  const cancelled = await app.inject({ method: 'POST', url: `/api/admin/shows/${show.id}/cancel`, headers: await adminAuth(app) })
  t.equal(cancelled.statusCode, 200)
  t.ok(commands.includes('update'), 'the observer sees the seats\' writes (the cancel freeing A1)')
  expectError(t, await hold(app, user.authorization, show.id, { seatLabels: ['A2'] }), 409, 'SHOW_NOT_BOOKABLE', 'refused at once, not after the cache window')
  t.equal((await seatMap(app, show.id)).counts.HELD, 0, 'the cancel freed A1 and nothing else is held')
})
