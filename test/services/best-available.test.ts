// The choice rules of best available (API.md § Best available) on hand-made seat maps.
// A map is drawn as one string per row: '.' a free seat, 'x' a taken one, 'P' a free PREMIUM seat.
import t from 'tap'
import { chooseBestAvailable, type ChoiceRequest, type ChoiceSeat } from '../../src/services/best-available.js'

function map (rows: Record<string, string>): ChoiceSeat[] {
  return Object.entries(rows).flatMap(([row, line]) => [...line].map((c, i) => ({
    id: `${row}${i + 1}`, row, number: i + 1, category: c === 'P' ? 'PREMIUM' : 'STANDARD', status: c === 'x' ? 'BOOKED' as const : 'AVAILABLE' as const
  })))
}

function labelMap (line: string): ChoiceSeat[] {
  return [...line].map((c, i) => ({ id: `S${i + 1}`, row: null, number: i + 1, category: 'STANDARD', status: c === 'x' ? 'HELD' as const : 'AVAILABLE' as const }))
}

const choose = (seats: ChoiceSeat[], request: Partial<ChoiceRequest> & { quantity: number }) => chooseBestAvailable(seats, { adjacent: true, ...request })

t.test('adjacent: the block nearest the middle of the first row', async (t) => {
  t.same(choose(map({ A: '..........' }), { quantity: 2 }), { seatIds: ['A5', 'A6'], available: 10 })
  // An odd block in an even row: the two blocks around the middle are equally near; the earlier wins.
  t.same(choose(map({ A: '..........' }), { quantity: 3 }).seatIds, ['A4', 'A5', 'A6'])
  t.same(choose(map({ A: '.........' }), { quantity: 3 }).seatIds, ['A4', 'A5', 'A6'])
})

t.test('adjacent: rows in rowPreference order, then the rest in seat order', async (t) => {
  const seats = map({ A: '......', B: '......', C: '......', D: '......' })
  t.same(choose(seats, { quantity: 2, rowPreference: ['C', 'B'] }).seatIds, ['C3', 'C4'])
  // C too full for 4 together: B next.
  const fuller = map({ A: '......', B: '......', C: 'x..x..', D: '......' })
  // B2..B5 is nearest the middle but would strand B1 and B6: B1..B4 (as near as B3..B6, earlier) wins.
  t.same(choose(fuller, { quantity: 4, rowPreference: ['C', 'B'] }).seatIds, ['B1', 'B2', 'B3', 'B4'])
  // Neither preferred row fits 6: unlisted rows follow in seat order (A before D).
  const full = map({ A: '......', B: 'x.....', C: '.....x', D: '......' })
  t.same(choose(full, { quantity: 6, rowPreference: ['C', 'B'] }).seatIds, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6'])
})

t.test('adjacent: no single seat stranded when another block fits', async (t) => {
  // Row A: free run A2..A4 (3 seats). Two together at the middle-most spot would leave one alone.
  t.same(choose(map({ A: 'x...x' }), { quantity: 2 }).seatIds, ['A2', 'A3'], 'both blocks strand one seat: the first is used')
  // A's blocks of 2 in 'x...xx....' — A2A3 or A3A4 strand a seat; A7A8 / A8A9 / A9A10 leave 2/ 0 free... A7A8 leaves A9A10.
  t.same(choose(map({ A: 'x...xx....' }), { quantity: 2 }).seatIds, ['A7', 'A8'], 'a block leaving two free beats the middle one leaving one')
  // The first row can only strand; the second row has a clean block, which wins despite preference.
  t.same(choose(map({ A: '.x...x', B: '......' }), { quantity: 2 }).seatIds, ['B3', 'B4'])
  // Only stranding blocks anywhere: the best of them (first row, nearest the middle) is used.
  t.same(choose(map({ A: 'x...x', B: 'xx...' }), { quantity: 2 }).seatIds, ['A2', 'A3'])
  // A row's end counts as a wall: '...' at the end of a row with 2 asked leaves one at the end.
  t.same(choose(map({ A: 'xx...', B: 'xx....' }), { quantity: 2 }).seatIds, ['B3', 'B4'], 'B3B4 leaves B5B6 together')
})

t.test('adjacent: a taken seat breaks a block; nothing fits → null with the free count', async (t) => {
  t.same(choose(map({ A: '.x.x.x', B: 'x.x.x.' }), { quantity: 2 }), { seatIds: null, available: 6 })
  t.same(choose(map({ A: 'xxxxxx' }), { quantity: 1 }), { seatIds: null, available: 0 })
})

t.test('category limits the choice, and the free count is of that category', async (t) => {
  const seats = map({ A: '......', B: 'PPPPPP', C: '..PP..' })
  t.same(choose(seats, { quantity: 2, category: 'PREMIUM' }), { seatIds: ['B3', 'B4'], available: 8 })
  // C has only two PREMIUM together; in B, B2..B4 would strand B1, so B1..B3.
  t.same(choose(seats, { quantity: 3, category: 'PREMIUM', rowPreference: ['C'] }).seatIds, ['B1', 'B2', 'B3'])
  t.same(choose(seats, { quantity: 7, category: 'PREMIUM' }), { seatIds: null, available: 8 })
  t.same(choose(seats, { quantity: 7, category: 'PREMIUM', adjacent: false }).seatIds, ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'C3'])
  t.same(choose(seats, { quantity: 1, category: 'NONE' }), { seatIds: null, available: 0 })
})

t.test('label-seated shows: consecutive positions, earliest first', async (t) => {
  t.same(choose(labelMap('..........'), { quantity: 3 }).seatIds, ['S1', 'S2', 'S3'])
  t.same(choose(labelMap('x.x...x....'), { quantity: 2 }).seatIds, ['S8', 'S9'], 'S4S5 and S5S6 strand one slot; S8S9 does not')
  t.same(choose(labelMap('x.x...x...'), { quantity: 2 }).seatIds, ['S4', 'S5'], 'every block strands one: the earliest')
  t.same(choose(labelMap('x.x...x...'), { quantity: 2, adjacent: false }).seatIds, ['S2', 'S4'])
})

t.test('not adjacent: the best seats by the same order, anywhere', async (t) => {
  const seats = map({ A: 'x.x.x', B: '.....' })
  t.same(choose(seats, { quantity: 3, adjacent: false }).seatIds, ['A2', 'A4', 'B3'], 'all of row A that is free, then B\'s middle')
  t.same(choose(seats, { quantity: 3, adjacent: false, rowPreference: ['B'] }).seatIds, ['B2', 'B3', 'B4'])
  t.same(choose(seats, { quantity: 8, adjacent: false }), { seatIds: null, available: 7 })
})

t.test('seats chosen by requests still claiming are left out', async (t) => {
  const seats = map({ A: '......' })
  t.same(choose(seats, { quantity: 2, exclude: new Set(['A3', 'A4']) }).seatIds, ['A1', 'A2'], 'A5A6 also fits; A1A2 comes first at the same distance')
  t.same(choose(seats, { quantity: 2, exclude: new Set(['A3', 'A4']) }).available, 6, 'the free count is the map\'s')
})

t.test('spread: at random among the best non-overlapping clean blocks (choosing again after a lost race)', async (t) => {
  const seats = map({ A: '..........' })
  // Clean blocks by nearness to the middle: A5A6, then A3A4 and A7A8 (A4A5, A6A7 overlap A5A6).
  t.same(choose(seats, { quantity: 2, spread: 3, random: () => 0 }).seatIds, ['A5', 'A6'], 'the best block at the bottom of the range')
  t.same(choose(seats, { quantity: 2, spread: 3, random: () => 0.5 }).seatIds, ['A3', 'A4'])
  t.same(choose(seats, { quantity: 2, spread: 3, random: () => 0.99 }).seatIds, ['A7', 'A8'])
  t.same(choose(seats, { quantity: 2, spread: 1, random: () => 0.99 }).seatIds, ['A5', 'A6'], 'spread 1 is the best block, whatever the draw')
  // Row A: only A1..A3 free, any pair strands a seat; row B has clean blocks: stranding ones are never among the candidates.
  const tight = map({ A: '...xxxxxxx', B: 'xxxx....xx' })
  const picks = new Set(Array.from({ length: 20 }, (_, i) => choose(tight, { quantity: 2, spread: 4, random: () => i / 20 }).seatIds?.join()))
  t.same([...picks].sort(), ['B5,B6', 'B7,B8'], 'only clean blocks while one exists')
  t.same(choose(map({ A: '...xxxxxxx' }), { quantity: 2, spread: 4, random: () => 0.99 }).seatIds, ['A2', 'A3'], 'no clean block: among the stranding ones')
})

t.test('spread without adjacent: quantity seats at random among the best quantity × spread', async (t) => {
  const seats = map({ A: '......', B: '......' })
  const best = new Set(['A3', 'A4', 'A2', 'A5'])
  for (const r of [0, 0.3, 0.6, 0.99]) {
    const chosen = choose(seats, { quantity: 2, adjacent: false, spread: 2, random: () => r }).seatIds ?? []
    t.equal(new Set(chosen).size, 2, `two different seats (draw ${r})`)
    t.ok(chosen.every((id) => best.has(id)), `among the best four: ${chosen.join()}`)
  }
})

t.test('exclude is anything with has(): seats lost since the map was read are left out', async (t) => {
  const seats = map({ A: '......' })
  t.same(choose(seats, { quantity: 2, exclude: { has: (id) => id === 'A3' } }).seatIds, ['A1', 'A2'], 'A3 lost: A4A5 and A5A6 would strand a seat, A1A2 does not')
})
