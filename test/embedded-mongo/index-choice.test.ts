// Differential check of the embedded server's index lookups: for random documents (nulls,
// missing fields, arrays, nested arrays of subdocuments, numbers of every BSON type) and random
// filters of every shape an index may answer (equality, $eq, small $in, null, on single, dotted,
// compound and sparse indexes), the records matched from candidates() are exactly those matched
// by a scan of the whole collection, whichever index candidates() picks. Sorted reads (with
// ranges, skip and limit) read in index order give what a scan, a filter and a full sort give.
import t from 'tap'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
import { Decimal128, Double, Int32, Long, ObjectId } from 'bson'
import { Collection } from '../../src/embedded-mongo/collection.js'
import { compileFilter } from '../../src/embedded-mongo/filter.js'
import { select } from '../../src/embedded-mongo/handlers/common.js'
import { compileSort } from '../../src/embedded-mongo/query-exec.js'
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
    // Mostly short lists; some long ones (looked up through many index keys, matched by hash).
    const length = r < 0.95 ? 1 + Math.floor(rand() * 3) : 16 + Math.floor(rand() * 40)
    return { $in: Array.from({ length }, () => pick(scalars)) }
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

t.test('a long $in (matched through a set of hashes) matches what its values one by one match', async (t) => {
  const rand = prng(77)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]
  // Regular expressions, documents and arrays in the list are compared one by one, as before.
  const operands = [...scalars, /^a/, /1/, { b: 1 }, { b: null }, [1, 'a'], [], [null]]
  const value = (depth = 0): unknown => {
    const r = rand()
    if (depth < 2 && r < 0.2) return Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1))
    if (depth < 2 && r < 0.3) return { b: value(depth + 1) }
    return pick(scalars)
  }
  const docs: Doc[] = Array.from({ length: 300 }, (_, i) => rand() < 0.9 ? { _id: i, a: value() } : { _id: i })
  let differ = 0
  let hits = 0
  for (let n = 0; n < 300; n++) {
    const list = Array.from({ length: 16 + Math.floor(rand() * 30) }, () => pick(operands))
    const inList = compileFilter({ a: { $in: list } })
    const notIn = compileFilter({ a: { $nin: list } })
    const each = list.map((x) => compileFilter({ a: x }))
    for (const d of docs) {
      const want = each.some((m) => m(d))
      if (want) hits++
      if (inList(d) !== want || notIn(d) === want) {
        if (++differ <= 5) t.fail('$in or $nin differs from its values one by one', { doc: d, list })
      }
    }
  }
  t.ok(hits > 1000, `many documents matched (${hits})`)
  t.equal(differ, 0)
})

/** The reference: every document, the filter, a stable full sort, skip and limit. */
function scanSelect (c: Collection, filter: Doc, sort: Doc | undefined, skip: number, limit: number): Doc[] {
  const match = compileFilter(filter)
  const cmp = compileSort(sort) ?? (() => 0)
  const all = [...c.scan(undefined)].map((r) => r.doc).filter((d) => match(d)).sort(cmp)
  return all.slice(skip, limit > 0 ? skip + limit : undefined)
}

/**
 * Sorted reads: the same documents in the same sort order as the reference (unsorted: any order). Which of several
 * documents with equal sort keys is returned is not defined (MongoDB does not define it
 * either), so the check is: as many documents, each pair in the same place comparing equal
 * under the sort, every one matching the filter, none twice; without skip or limit, the same set.
 */
function sameSortedResult (t: Test, got: Doc[], want: Doc[], filter: Doc, sort: Doc | undefined, skip: number, limit: number): boolean {
  const cmp = compileSort(sort) ?? (() => 0)
  const match = compileFilter(filter)
  const ids = (ds: Doc[]): string => JSON.stringify(ds.map((d) => d._id as number).sort((x, y) => x - y))
  const ok = got.length === want.length &&
    got.every((d, i) => cmp(d, want[i]) === 0 && match(d)) &&
    new Set(got.map((d) => d._id)).size === got.length &&
    (skip > 0 || limit > 0 || ids(got) === ids(want))
  if (!ok) t.fail('a sorted read differs from a scan', { query: { filter, sort, skip, limit }, got: got.map((d) => d._id), want: want.map((d) => d._id) })
  return ok
}

t.test('sorted reads in index order = scan + filter + sort (ranges, limits, writes in between)', async (t) => {
  const rand = prng(1313)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]
  const d0 = Date.UTC(2026, 0, 1)
  // Dates, null, numbers of every BSON type (equal across types), strings, NaN, MinKey-ish extremes.
  const sortable: unknown[] = [
    null, 0, -0, 1, 2, 1.5, new Double(1), new Double(2), new Int32(2), Long.fromNumber(1), Long.fromNumber(3), Decimal128.fromString('2'),
    NaN, 'a', 'b', '', true, false, new Date(d0), new Date(d0 + 1000), new Date(d0 + 2000), new Date(d0 + 3000), oid, { x: 1 },
  ]
  // Arrays only in documents with a: 'z' (some of them): the buckets holding those are read
  // through the sorting path, the others in index order.
  const field = (arrays = false): unknown => {
    const r = rand()
    if (r < 0.1) return undefined // missing
    if (arrays && r < 0.2) return [pick(sortable), pick(sortable)]
    return pick(sortable)
  }
  const c = new Collection('db', 'sorted')
  c.addIndex({ name: 'a_1_b_1', key: { a: 1, b: 1 }, extra: {} })
  c.addIndex({ name: 'a_1_b_-1_c_1', key: { a: 1, b: -1, c: 1 }, extra: {} })
  c.addIndex({ name: 'c_1_b_1', key: { c: 1, b: 1 }, extra: {} })
  c.addIndex({ name: 'd_1_e.f_-1', key: { d: 1, 'e.f': -1 }, extra: {} })
  c.addIndex({ name: 'd_1_b_1_sparse', key: { d: 1, b: 1 }, sparse: true, extra: {} })
  const prefixes = ['x', 'y', 'z', 1, null]
  let nextId = 0
  const newDoc = (): Doc => {
    const d: Doc = { _id: nextId++ }
    if (rand() < 0.95) d.a = pick(prefixes)
    const arrays = d.a === 'z' && rand() < 0.3
    for (const f of ['b', 'c']) { const v = field(arrays); if (v !== undefined) d[f] = v }
    if (rand() < 0.9) d.d = pick(prefixes)
    const r = rand()
    if (r < 0.6) d.e = { f: field(arrays) }
    else if (r < 0.7) d.e = pick(sortable) // e.f through a scalar is missing
    return d
  }
  for (let i = 0; i < 300; i++) c.insert(newDoc())
  // undefined: unsorted reads, which a range on the field after an equality prefix narrows.
  const sorts: Array<Doc | undefined> = [
    undefined, { b: 1 }, { b: -1 }, { b: 1, c: 1 }, { b: -1, c: -1 }, { b: -1, c: 1 }, { a: 1, b: 1 }, { b: 1, a: -1 },
    { c: 1 }, { 'e.f': -1 }, { 'e.f': 1 }, { b: 1, _id: 1 },
  ]
  const range = (): Doc => {
    const cond: Doc = {}
    const ops = ['$gt', '$gte', '$lt', '$lte']
    const n = 1 + Math.floor(rand() * 2)
    for (let i = 0; i < n; i++) cond[pick(ops)] = pick(sortable)
    if (rand() < 0.1) cond.$ne = pick(sortable)
    return cond
  }
  let ordered = 0
  let failures = 0
  for (let n = 0; n < 4000 && failures < 5; n++) {
    if (n % 250 === 249) {
      // Writes between reads: ordered buckets built by earlier reads are maintained, not rebuilt.
      for (const rec of [...c.scan(undefined)]) {
        const r = rand()
        if (r < 0.05) c.remove(rec)
        else if (r < 0.35) {
          const next = { ...rec.doc }
          const f = pick(['a', 'b', 'c', 'd', 'e'])
          const arrays = next.a === 'z' && rand() < 0.3
          const v = f === 'e' ? { f: field(arrays) } : f === 'a' || f === 'd' ? pick(prefixes) : field(arrays)
          if (v === undefined) delete next[f]
          else next[f] = v
          c.replace(rec, next)
        }
      }
      for (let i = 0; i < 15; i++) c.insert(newDoc())
    }
    const filter: Doc = {}
    const eq = rand()
    if (eq < 0.45) filter.a = rand() < 0.8 ? pick(prefixes) : { $eq: pick(prefixes) }
    else if (eq < 0.6) filter.c = pick(sortable)
    else if (eq < 0.8) filter.d = pick(prefixes)
    else if (eq < 0.85) filter.a = { $in: [pick(prefixes), pick(prefixes)] }
    if (rand() < 0.5) filter.b = range()
    if (rand() < 0.2) filter['e.f'] = range()
    if (rand() < 0.15) filter.c = rand() < 0.5 ? range() : { $ne: pick(sortable) }
    if (rand() < 0.1) filter.$or = [{ b: pick(sortable) }, { c: range() }]
    const sort = pick(sorts)
    const skip = rand() < 0.2 ? Math.floor(rand() * 3) : 0
    const limit = rand() < 0.8 ? 1 + Math.floor(rand() * 5) : 0
    if (c.orderedScan(filter, sort) !== undefined) ordered++
    const got = select(c, filter, sort, skip, limit).map((r) => r.doc)
    if (!sameSortedResult(t, got, scanSelect(c, filter, sort, skip, limit), filter, sort, skip, limit)) failures++
  }
  t.ok(ordered > 1000, `many sorted reads were answered in index order (${ordered} of 4000)`)
  t.equal(failures, 0, 'every sorted read gave what a scan gives')
})

t.test("Agenda's lock query reads its job in index order and picks the job a scan picks", async (t) => {
  const rand = prng(6)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]
  const c = new Collection('db', 'agendaJobs')
  // The index @agendajs/mongo-backend creates (findAndLockNextJobIndex) with its default sort.
  c.addIndex({ name: 'findAndLockNextJobIndex', key: { name: 1, nextRunAt: 1, priority: -1, lockedAt: 1, disabled: 1 }, extra: {} })
  const t0 = Date.UTC(2026, 0, 1)
  const names = ['expire-hold-0', 'expire-hold-1', 'sweep']
  for (let i = 0; i < 600; i++) {
    const job: Doc = { _id: i, name: pick(names), priority: pick([0, 10, -10, new Int32(0), Long.fromNumber(10), new Double(0)]) }
    const r = rand()
    job.nextRunAt = r < 0.15 ? null : new Date(t0 + Math.floor(rand() * 60) * 1000)
    if (rand() < 0.5) job.lockedAt = rand() < 0.5 ? null : new Date(t0 + Math.floor(rand() * 60) * 1000)
    if (rand() < 0.2) job.disabled = rand() < 0.5
    c.insert(job)
  }
  const sort = { nextRunAt: 1, priority: -1 }
  let failures = 0
  let locked = 0
  for (let n = 0; n < 400 && failures < 5; n++) {
    const now = new Date(t0 + Math.floor(rand() * 70) * 1000)
    const filter: Doc = {
      name: pick(names),
      disabled: { $ne: true },
      $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: now } }, { lockedAt: { $lte: new Date(now.getTime() - 30_000) } }],
    }
    if (c.orderedScan(filter, sort) === undefined) { t.fail('the lock query was not read in index order'); failures++; continue }
    const [got] = select(c, filter, sort, 0, 1)
    const [want] = scanSelect(c, filter, sort, 0, 1)
    if (!sameSortedResult(t, got === undefined ? [] : [got.doc], want === undefined ? [] : [want], filter, sort, 0, 1)) { failures++; continue }
    // Lock it, as findOneAndUpdate does, so the next query must skip it.
    if (got !== undefined) { c.replace(got, { ...got.doc, lockedAt: now }); locked++ }
  }
  t.ok(locked > 100, `jobs were found and locked (${locked})`)
  t.equal(failures, 0, 'each lock query picked a job the scan would pick')
})
