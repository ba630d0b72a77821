// The change history's ring (src/embedded-mongo/replication.ts): it grows to its capacity, then
// drops the oldest; every change reads back as recorded, in order, and an update's description is
// worked out once. Through the driver, change-streams.test.ts covers what streams make of it.
import t from 'tap'
import { ChangeLog } from '../../src/embedded-mongo/replication.js'

t.test('grows to its capacity, then keeps the newest changes in order', async (t) => {
  const log = new ChangeLog(2500) // past the first allocation (1,024) twice, then wrapped
  for (let n = 1; n <= 3100; n++) {
    log.append(n * 10, 1_000 + n, n % 2 === 0 ? 'update' : 'insert', 'db', `c${n % 3}`, n, n % 2 === 0 ? { _id: n, v: 0 } : undefined, { _id: n, v: 1 }, undefined)
  }
  t.equal(log.count, 2500)
  t.equal(log.lostUpTo, 600 * 10, 'the 600 oldest fell off; the newest of them is the loss mark')
  const seen = Array.from({ length: log.count }, (_, i) => log.at(i))
  t.same(seen.map((c) => c.id), Array.from({ length: 2500 }, (_, i) => 601 + i), 'oldest first, none skipped or repeated')
  t.ok(seen.every((c) => c.ts === (c.id as number) * 10 && c.wall === 1_000 + (c.id as number) && c.coll === `c${(c.id as number) % 3}`), 'each change\'s fields read back as recorded')
  t.equal(log.tsAt(0), 6010)
  t.equal(log.indexAfter(6010), 1)
  t.equal(log.indexAfter(6015), 1)
  t.equal(log.indexAfter(31_000), 2500)
  t.equal(log.indexAfter(0), 0)
})

t.test('an update is described once, from its versions before and after', async (t) => {
  const log = new ChangeLog(4)
  log.append(1, 1, 'update', 'db', 'c', 1, { _id: 1, a: 1 }, { _id: 1, a: 2 }, undefined)
  log.append(2, 2, 'insert', 'db', 'c', 2, undefined, { _id: 2 }, undefined)
  let calls = 0
  const describe = (before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> => {
    calls++
    return { updatedFields: { a: after.a }, removedFields: [], was: before.a }
  }
  t.same(log.at(0).description(describe), { updatedFields: { a: 2 }, removedFields: [], was: 1 })
  t.same(log.at(0).description(describe), { updatedFields: { a: 2 }, removedFields: [], was: 1 })
  t.equal(calls, 1, 'worked out on first read only')
  t.equal(log.at(1).description(describe), undefined, 'an insert has none')
  // Wrapping reuses the slot: the new change there is not described by the old one's.
  for (let n = 3; n <= 5; n++) log.append(n, n, 'update', 'db', 'c', n, { _id: n, a: 0 }, { _id: n, a: n }, undefined)
  t.equal(log.at(3).id, 5)
  t.same(log.at(3).description(describe), { updatedFields: { a: 5 }, removedFields: [], was: 0 })
})

t.test('a size that cannot hold a change is refused at once', async (t) => {
  for (const size of [0, -1, 2.5, Number.NaN]) t.throws(() => new ChangeLog(size), RangeError, String(size))
  t.equal(new ChangeLog(1).capacity, 1)
})
