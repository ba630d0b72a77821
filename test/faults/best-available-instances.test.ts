// Best available across four instances on one database (review finding): each instance reads the
// same seat map and, before choosing again at random among the best blocks, they all re-picked the
// same block after a lost race, answering 409 while most seats were free. Now a request refused
// must have had no free block of its size left, no seat is held twice, every booking is adjacent.
import t from 'tap'
import {
  adminToken, call, createShow, failureKind, mintUsers, seatMap,
  startDatabase, startInstances, waitFor, type Answer, type Booking, type Failure, type SeatMap
} from './processes.js'

const SEATS = 400
const SEATS_PER_ROW = 20
const REQUESTS = 120
const QUANTITY = 2

/** The seat map with what these seats carry besides (API.md: row and number). */
type PlacedMap = Omit<SeatMap, 'seats'> & { seats: Array<SeatMap['seats'][number] & { row: string | null, number: number }> }

/** The longest run of free consecutive seats in one row. */
function longestFreeRun (map: PlacedMap): number {
  let best = 0
  let run = 0
  let row: string | null | undefined
  let last = -1
  for (const seat of map.seats) {
    const continues = seat.row === row && seat.number === last + 1
    run = seat.status === 'AVAILABLE' ? (continues ? run + 1 : 1) : 0
    row = seat.row
    last = seat.number
    best = Math.max(best, run)
  }
  return best
}

t.test(`${REQUESTS} concurrent best-available holds of ${QUANTITY} over four instances`, async (t) => {
  const db = await startDatabase(t)
  // Holds of 30 s (the API's minimum per show): none lapses while the race is answered, so seats are only taken.
  const common = { uri: db.uri, holdSeconds: 30, sweepSeconds: 1 }
  const instances = await startInstances(t, [1, 2, 3, 4].map((n) => ({ name: `I${n}`, ...common })))
  const admin = await adminToken(instances[0].url)
  const showId = await createShow(instances[0].url, admin, SEATS, SEATS_PER_ROW, 30)
  // Every instance has served (and cached) the map before the crowd arrives, as in a sale.
  await Promise.all(instances.map(async (i) => await seatMap(i.url, showId)))
  const users = await mintUsers(db.uri, REQUESTS)

  const answers = await Promise.all(users.map(async (user, k) =>
    await call<Booking>(instances[k % 4].url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { quantity: QUANTITY } })
      .catch(failureKind) as Answer<Booking> | Failure))
  const tally = new Map<string, number>()
  for (const a of answers) {
    const key = typeof a === 'string' ? a : `${a.status} ${(a.body as { code?: string }).code ?? ''}`.trim()
    tally.set(key, (tally.get(key) ?? 0) + 1)
  }
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(tally))}`)

  const held = answers.flatMap((a) => typeof a !== 'string' && a.status === 201 ? [a.body] : [])
  // An instance's map shows other instances' holds within a second: wait until it shows them all.
  const map = await waitFor('the seat map to show every hold', 10_000, async () => {
    const m = await seatMap(instances[0].url, showId) as PlacedMap
    return m.counts.HELD === held.length * QUANTITY ? m : undefined
  }).catch(async () => await seatMap(instances[0].url, showId) as PlacedMap)
  const byId = new Map(map.seats.map((s) => [s.id, s]))
  const refused = answers.filter((a) => typeof a === 'string' || a.status !== 201)
  t.ok(refused.every((a) => typeof a !== 'string' && a.status === 409), 'every answer is 201 or 409 (no 500, no reset)')

  const owner = new Map<string, string>()
  const twice: string[] = []
  const apart: string[] = []
  for (const booking of held) {
    const seats = booking.seats.map((s) => byId.get(s.id)).filter((s) => s !== undefined).sort((a, b) => a.number - b.number)
    const adjacent = seats.length === QUANTITY && seats.every((s, i) => s.row === seats[0].row && (i === 0 || s.number === seats[i - 1].number + 1))
    if (!adjacent) apart.push(booking.seats.map((s) => s.label).join())
    for (const s of booking.seats) {
      if (owner.has(s.id)) twice.push(s.label)
      owner.set(s.id, booking.id)
    }
  }
  t.same(twice, [], 'no seat in two bookings')
  t.same(apart, [], 'every booking\'s seats are adjacent')
  t.equal(map.counts.HELD, held.length * QUANTITY, 'the seats HELD are exactly the bookings\' seats')
  // Seats were only taken during the race: a refusal while a free pair is left on the map now was
  // a refusal while enough adjacent seats were free.
  const run = longestFreeRun(map)
  t.ok(refused.length === 0 || run < QUANTITY,
    `${refused.length} × 409 with ${map.counts.AVAILABLE} seats free (longest free run ${run}): a 409 only when no ${QUANTITY} adjacent seats are free`)
})
