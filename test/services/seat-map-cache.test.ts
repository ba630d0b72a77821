// The seat-map cache's structured access for best available: the served snapshot's own seats
// (this instance's changes applied in place), and a fresh read shared by concurrent callers.
import t from 'tap'
import { createSeatMapCache } from '../../src/services/seat-map-cache.js'
import type { SeatMap } from '../../src/schemas/show.js'

/** A show's seats as a database would hold them, and a reader of it that counts its reads. */
function database () {
  const statuses = new Map([['s1', 'AVAILABLE'], ['s2', 'AVAILABLE'], ['s3', 'AVAILABLE']] as Array<[string, SeatMap['seats'][number]['status']]>)
  const state = { reads: 0, release: undefined as (() => void) | undefined, gate: undefined as Promise<void> | undefined }
  const read = async (showId: string): Promise<SeatMap> => {
    state.reads++
    const seats = [...statuses].map(([id, status], i) => ({ id, label: id, row: 'A', number: i + 1, category: 'STANDARD', priceCents: 100, status }))
    if (state.gate !== undefined) await state.gate
    const counts = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
    for (const s of seats) counts[s.status]++
    return { showId, seats, counts }
  }
  const hold = (): void => { state.gate = new Promise((resolve) => { state.release = resolve }) }
  const open = (): void => { state.release?.(); state.gate = undefined }
  return { statuses, state, read, hold, open }
}

t.test('seats(): the served snapshot, read once, this instance\'s changes applied in place', async (t) => {
  const db = database()
  const cache = createSeatMapCache(db.read, 60_000, 120_000)
  const first = await cache.seats('show')
  t.equal(db.state.reads, 1)
  t.same(first.seats.map((s) => s.status), ['AVAILABLE', 'AVAILABLE', 'AVAILABLE'])
  cache.apply('show', ['s2'], 'HELD')
  const second = await cache.seats('show')
  t.equal(db.state.reads, 1, 'served from memory')
  t.equal(second.seats, first.seats, 'the same array: no copy, no JSON')
  t.equal(second.seats[1].status, 'HELD', 'this instance\'s hold is in it at once')
  t.match(JSON.parse((await cache.get('show')).body), { counts: { AVAILABLE: 2, HELD: 1 } }, 'and in the served body')
})

t.test('freshSeats(since): one database read shared by concurrent callers, none when a read began after since', async (t) => {
  const db = database()
  const cache = createSeatMapCache(db.read, 60_000, 120_000)
  const served = await cache.seats('show')
  t.equal(db.state.reads, 1)
  // Another instance takes s1: the served map does not know.
  db.statuses.set('s1', 'HELD')
  t.equal((await cache.seats('show')).seats[0].status, 'AVAILABLE', 'the served map is a moment old')
  await new Promise((resolve) => setTimeout(resolve, 2))
  const since = Date.now()
  db.hold()
  const asks = Array.from({ length: 10 }, async () => await cache.freshSeats('show', since))
  await new Promise((resolve) => setTimeout(resolve, 5))
  db.open()
  const answers = await Promise.all(asks)
  t.equal(db.state.reads, 2, 'ten callers, one more read')
  t.ok(answers.every((a) => a.seats[0].status === 'HELD' && a.readAt >= since), 'each sees the fresh state, read after since')
  t.ok(answers[0].readAt > served.readAt)
  await cache.freshSeats('show', since)
  t.equal(db.state.reads, 2, 'a snapshot read after since serves later callers too')
  t.equal((await cache.seats('show')).seats[0].status, 'HELD', 'and becomes the served map')
  await cache.freshSeats('show', Date.now() + 1)
  t.equal(db.state.reads, 3, 'a later since reads again')
})
