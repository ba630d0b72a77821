// Differential check of the embedded server's index lookups: for random documents (nulls,
// missing fields, arrays, nested arrays of subdocuments, numbers of every BSON type) and random
// filters of every shape an index may answer (equality, $eq, small $in, null, on single, dotted,
// compound and sparse indexes), the records matched from candidates() are exactly those matched
// by a scan of the whole collection, whichever index candidates() picks.
import t from 'tap'
import { Decimal128, Double, Int32, Long, ObjectId } from 'bson'
import { Collection } from '../../src/embedded-mongo/collection.js'
import { compileFilter } from '../../src/embedded-mongo/filter.js'
import type { Doc } from '../../src/embedded-mongo/values.js'

/** A small deterministic PRNG (mulberry32): the same documents and filters on every run. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const oid = new ObjectId()
const scalars: unknown[] = [null, 0, -0, 1, 1.5, new Double(1), new Int32(1), Long.fromNumber(1), Decimal128.fromString('1'), '1', 'a', 'b', true, false, new Date(0), oid, NaN]

t.test('candidates() ∘ filter = scan ∘ filter for every lookup shape', async (t) => {
  const rand = prng(13)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]
  const value = (depth = 0): unknown => {
    const r = rand()
    if (depth < 2 && r < 0.12) return Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1))
    if (depth < 2 && r < 0.2) return { b: value(depth + 1) }
    return pick(scalars)
  }
  const c = new Collection('db', 'diff')
  c.addIndex({ name: 'a_1', key: { a: 1 }, extra: {} })
  c.addIndex({ name: 'a_1_c_1', key: { a: 1, c: 1 }, extra: {} })
  c.addIndex({ name: 'c_1_a_1', key: { c: 1, a: 1 }, extra: {} })
  c.addIndex({ name: 'c_1', key: { c: 1 }, sparse: true, extra: {} })
  c.addIndex({ name: 'a.b_1', key: { 'a.b': 1 }, extra: {} })
  c.addIndex({ name: 'd_1_a.b_1', key: { d: 1, 'a.b': 1 }, sparse: true, extra: {} })
  const docs: Doc[] = []
  for (let i = 0; i < 400; i++) {
    const d: Doc = { _id: i }
    for (const f of ['a', 'c', 'd']) if (rand() < 0.8) d[f] = value()
    docs.push(d)
    c.insert(d)
  }
  const fields = ['a', 'c', 'd', 'a.b']
  const condition = (): unknown => {
    const r = rand()
    const v = pick(scalars)
    if (r < 0.5) return v
    if (r < 0.7) return { $eq: v }
    return { $in: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(scalars)) }
  }
  let checked = 0
  let indexed = 0
  for (let n = 0; n < 3000; n++) {
    // Halfway, documents change and go (index buckets are then maintained, not built).
    if (n === 1500) {
      for (const rec of [...c.scan(undefined)]) {
        const r = rand()
        if (r < 0.1) c.remove(rec)
        else if (r < 0.6) c.replace(rec, { ...rec.doc, [pick(['a', 'c', 'd'])]: value() })
      }
    }
    const filter: Doc = {}
    for (const f of fields) if (rand() < 0.45) filter[f] = condition()
    const match = compileFilter(filter)
    const cands = c.candidates(filter)
    if (cands !== undefined) indexed++
    const got = [...(cands ?? c.scan(undefined))].filter((r) => match(r.doc)).map((r) => r.doc._id as number).sort((x, y) => x - y)
    const want = [...c.scan(undefined)].filter((r) => match(r.doc)).map((r) => r.doc._id as number).sort((x, y) => x - y)
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      t.fail('candidates lost or added documents', { filter, got, want })
      if (++checked > 5) break
    }
  }
  t.ok(indexed > 1000, `most filters were answered from an index (${indexed} of 3000)`)
  t.equal(checked, 0, 'no filter gave other documents through an index than through a scan')
})
