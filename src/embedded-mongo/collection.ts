// One collection: documents in insertion order, the _id index and secondary hash indexes.
//
// Documents live in `Rec` records whose `doc` is swapped (never mutated) on update, so index
// buckets hold stable records and only indexes whose key actually changed are touched.
// Each secondary index keeps one hash map per key prefix ({a}, {a,b}, ...), so equality (and
// small $in) lookups on any prefix of a compound index find candidates without a scan, and a
// unique check is one hash lookup.
import { ObjectId, type Document } from 'bson'
import { fault } from './errors.js'
import { compileFilter, isOperatorObject, type Matcher } from './filter.js'
import { bsonType, compareValues, hashValue, isPlainObject, toNumber, type Doc } from './values.js'

/** A stored document; `seq` (insertion order, kept across updates) breaks ties in index order, as a RecordId does. */
export interface Rec { doc: Doc; seq: number }

/** A record's place in an ordered bucket: its values of the index fields after the bucket's prefix. */
interface Entry { rec: Rec; vals: unknown[] }

/**
 * One equality bucket of a compound index (a key of `maps[level]`) kept sorted by the index
 * fields after the prefix (in the index's directions), then by `seq`. Built on the first sorted
 * read of that bucket and maintained on every write after (binary-search insert/remove), so
 * indexes never read in order cost writes nothing. A record with an array on one of those
 * index field is not placed (`arrays` counts them): a multikey sort key sorts by its smallest
 * or largest element depending on the sort's direction, so such a bucket is not used for order.
 */
interface OrderedBucket {
  entries: Entry[]
  byRec: Map<Rec, Entry | null>
  arrays: number
}

/** A sorted read plan: `entries[from]`, `entries[from + step]`, … up to (not including) `to`. */
export interface OrderedScan { entries: Entry[]; from: number; to: number; step: 1 | -1 }

const ARRAY = Symbol('array')

/** The value at a dotted path as a sort sees it when no array is on the way; ARRAY otherwise. */
function plainValue(doc: Doc, parts: string[]): unknown {
  let v: unknown = doc
  for (const p of parts) {
    if (Array.isArray(v)) return ARRAY
    if (!isPlainObject(v)) return undefined
    v = v[p]
  }
  return Array.isArray(v) ? ARRAY : v
}

export interface IndexSpec {
  name: string
  key: Doc
  unique?: boolean
  sparse?: boolean
  partialFilterExpression?: Doc
  expireAfterSeconds?: number
  /** Any further options given at creation, echoed by listIndexes. */
  extra: Doc
}

const MAX_KEYS_PER_DOC = 10000

export class SecondaryIndex {
  readonly spec: IndexSpec
  readonly fields: string[]
  readonly maps: Array<Map<string, Set<Rec>>>
  /** 1 or -1 per field, as the index key says. */
  readonly dirs: number[]
  /** Per prefix level (as `maps`), the buckets kept in index order; see OrderedBucket. */
  private readonly ordered: Array<Map<string, OrderedBucket>>
  private readonly parts: string[][]
  private readonly partial: Matcher | undefined

  constructor(spec: IndexSpec) {
    this.spec = spec
    this.fields = Object.keys(spec.key)
    this.maps = this.fields.map(() => new Map())
    this.ordered = this.fields.map(() => new Map())
    this.dirs = this.fields.map((f) => ((toNumber(spec.key[f]) ?? 1) < 0 ? -1 : 1))
    this.parts = this.fields.map((f) => f.split('.'))
    this.partial = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined
  }

  /**
   * Whether lookups by these values may use the index: a partial index never (the planner does not
   * prove filter ⊆ partialFilterExpression); a sparse one unless a value is null (null matches a
   * missing field, and a document missing every indexed field is not in a sparse index), as
   * MongoDB uses a sparse index for an equality on a non-null value.
   */
  usableForLookup(vals: unknown[][]): boolean {
    if (this.partial !== undefined) return false
    return !this.spec.sparse || vals.every((vs) => vs.every((v) => v !== null && v !== undefined))
  }

  /** Key strings for every prefix length (index 0 = first field only), multikey-expanded. */
  keysOf(doc: Doc): string[][] | undefined {
    if (this.partial !== undefined && !this.partial(doc)) return undefined
    const perField = this.fields.map((f) => valuesForIndex(doc, f))
    if (this.spec.sparse && perField.every((vs) => vs.length === 1 && vs[0] === undefined)) return undefined
    const out: string[][] = []
    let prefixes: string[] = ['']
    for (let i = 0; i < perField.length; i++) {
      const next: string[] = []
      const hs = perField[i].map(hashValue)
      for (const p of prefixes) for (const h of hs) next.push(i === 0 ? h : p + '|' + h)
      prefixes = dedupe(next)
      if (prefixes.length > MAX_KEYS_PER_DOC) throw fault(2, `cannot index document: too many keys for index ${this.spec.name}`)
      out.push(prefixes)
    }
    return out
  }

  /** Adds `rec` under `keys` (from `keysOf(doc)`); `doc` is the version being stored. */
  add(rec: Rec, keys: string[][] | undefined, doc: Doc): void {
    if (keys === undefined) return
    for (let i = 0; i < keys.length; i++) {
      const m = this.maps[i]
      const om = this.ordered[i]
      let vals: unknown[] | null | undefined
      for (const k of keys[i]) {
        let s = m.get(k)
        if (s === undefined) { s = new Set(); m.set(k, s) }
        s.add(rec)
        if (om.size === 0) continue
        const ob = om.get(k)
        if (ob === undefined) continue
        if (vals === undefined) vals = this.trailing(doc, i)
        this.place(ob, i, rec, vals)
      }
    }
  }

  remove(rec: Rec, keys: string[][] | undefined): void {
    if (keys === undefined) return
    for (let i = 0; i < keys.length; i++) {
      const m = this.maps[i]
      const om = this.ordered[i]
      for (const k of keys[i]) {
        const s = m.get(k)
        if (s === undefined) continue
        s.delete(rec)
        if (om.size > 0) {
          const ob = om.get(k)
          if (ob !== undefined) {
            if (s.size === 0) om.delete(k)
            else this.unplace(ob, i, rec)
          }
        }
        if (s.size === 0) m.delete(k)
      }
    }
  }

  /**
   * Values of the fields after prefix level `level` (0 = first field only), or null if any
   * field of the index is an array: a prefix field too, since a sort on it (dropped as constant
   * for the bucket) would sort such a record by its smallest or largest element instead.
   */
  private trailing(doc: Doc, level: number): unknown[] | null {
    const out: unknown[] = []
    for (let j = 0; j < this.parts.length; j++) {
      const v = plainValue(doc, this.parts[j])
      if (v === ARRAY) return null
      if (j > level) out.push(v)
    }
    return out
  }

  /** Index order of two entries of a bucket at `level`: the trailing fields in the index's directions, then seq. */
  private cmpEntry(level: number, a: unknown[], aSeq: number, b: unknown[], bSeq: number): number {
    for (let j = 0; j < a.length; j++) {
      const c = compareValues(a[j], b[j])
      if (c !== 0) return c * this.dirs[level + 1 + j]
    }
    return aSeq - bSeq
  }

  /** First position in `entries` whose entry is not before (vals, seq). */
  private seek(entries: Entry[], level: number, vals: unknown[], seq: number): number {
    let lo = 0
    let hi = entries.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const e = entries[mid]
      if (this.cmpEntry(level, e.vals, e.rec.seq, vals, seq) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private place(ob: OrderedBucket, level: number, rec: Rec, vals: unknown[] | null): void {
    if (ob.byRec.has(rec)) return
    if (vals === null) { ob.byRec.set(rec, null); ob.arrays++; return }
    const e: Entry = { rec, vals }
    ob.byRec.set(rec, e)
    ob.entries.splice(this.seek(ob.entries, level, vals, rec.seq), 0, e)
  }

  private unplace(ob: OrderedBucket, level: number, rec: Rec): void {
    const e = ob.byRec.get(rec)
    if (e === undefined) return
    ob.byRec.delete(rec)
    if (e === null) { ob.arrays--; return }
    const at = this.seek(ob.entries, level, e.vals, rec.seq)
    if (ob.entries[at] === e) ob.entries.splice(at, 1)
  }

  /** The bucket `key` at `level` in index order, built on first use; undefined if it is empty. */
  orderedBucket(level: number, key: string): OrderedBucket | undefined {
    const om = this.ordered[level]
    let ob = om.get(key)
    if (ob !== undefined) return ob
    const s = this.maps[level].get(key)
    if (s === undefined) return undefined
    ob = { entries: [], byRec: new Map(), arrays: 0 }
    for (const rec of s) {
      const vals = this.trailing(rec.doc, level)
      if (vals === null) { ob.byRec.set(rec, null); ob.arrays++; continue }
      const e: Entry = { rec, vals }
      ob.byRec.set(rec, e)
      ob.entries.push(e)
    }
    ob.entries.sort((a, b) => this.cmpEntry(level, a.vals, a.rec.seq, b.vals, b.rec.seq))
    om.set(key, ob)
    return ob
  }

  /** The record (other than `self`) that already holds one of these full keys, if any. */
  conflict(keys: string[][] | undefined, self: Rec | undefined): { rec: Rec; key: string } | undefined {
    if (keys === undefined || !this.spec.unique) return undefined
    const m = this.maps[this.maps.length - 1]
    for (const k of keys[keys.length - 1]) {
      const s = m.get(k)
      if (s === undefined) continue
      for (const r of s) if (r !== self) return { rec: r, key: k }
    }
    return undefined
  }
}

function dedupe(a: string[]): string[] {
  return a.length <= 1 ? a : [...new Set(a)]
}

/** Values a (multikey) index stores for `path`: arrays contribute each element. */
export function valuesForIndex(doc: unknown, path: string): unknown[] {
  const out: unknown[] = []
  collect(doc, path.split('.'), 0, out)
  return out.length === 0 ? [undefined] : out
}

function collect(v: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(v)
      else for (const e of v) out.push(e)
    } else {
      out.push(v)
    }
    return
  }
  if (Array.isArray(v)) {
    const p = parts[i]
    if (/^\d+$/.test(p)) collect(v[Number(p)], parts, i + 1, out)
    for (const e of v) collect(e, parts, i, out)
    return
  }
  if (isPlainObject(v)) collect(v[parts[i]], parts, i + 1, out)
  else out.push(undefined)
}

export function defaultIndexName(key: Doc): string {
  return Object.keys(key).map((k) => `${k}_${String(toNumber(key[k]) ?? key[k])}`).join('_')
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (v === null || v === undefined) return 'null'
  if (v instanceof Date) return `new Date(${v.getTime()})`
  const t = bsonType(v)
  if (t === 'ObjectId') return `ObjectId('${(v as ObjectId).toHexString()}')`
  if (t !== undefined) return String((v as { toString(): string }).toString())
  if (Array.isArray(v)) return '[ ' + v.map(formatValue).join(', ') + ' ]'
  if (isPlainObject(v)) return '{ ' + Object.keys(v).map((k) => `${k}: ${formatValue(v[k])}`).join(', ') + ' }'
  return String(v)
}

export class Collection {
  readonly db: string
  name: string
  readonly byId = new Map<string, Rec>()
  readonly indexes: SecondaryIndex[] = []
  readonly options: Doc
  private nextSeq = 0

  constructor(db: string, name: string, options: Doc = {}) {
    this.db = db
    this.name = name
    this.options = options
  }

  get size(): number {
    return this.byId.size
  }

  idIndexSpec(): Doc {
    return { v: 2, key: { _id: 1 }, name: '_id_' }
  }

  private dupError(indexName: string, key: Doc, doc: Doc): never {
    const fields = Object.keys(key)
    const keyValue: Doc = {}
    for (const f of fields) {
      const vs = valuesForIndex(doc, f)
      keyValue[f] = vs.length === 1 ? (vs[0] === undefined ? null : vs[0]) : vs[0]
    }
    const shown = fields.map((f) => `${f}: ${formatValue(keyValue[f])}`).join(', ')
    throw fault(11000, `E11000 duplicate key error collection: ${this.db}.${this.name} index: ${indexName} dup key: { ${shown} }`, {
      keyPattern: key,
      keyValue,
    })
  }

  private dupErrorFor(idx: SecondaryIndex, conflictingKey: string, doc: Doc): never {
    // keyValue reports the element that collided for multikey indexes; the first is close enough.
    void conflictingKey
    this.dupError(idx.spec.name, idx.spec.key, doc)
  }

  /** Inserts a document the caller hands over (already a private copy). */
  insert(doc: Doc): Rec {
    if (doc._id === undefined || Object.keys(doc)[0] !== '_id') {
      // MongoDB always stores _id as the first field.
      const withId: Doc = { _id: doc._id === undefined ? new ObjectId() : doc._id }
      for (const k of Object.keys(doc)) if (k !== '_id') withId[k] = doc[k]
      doc = withId
    }
    if (Array.isArray(doc._id)) throw fault(2, 'The \'_id\' value cannot be of type array')
    if (isOperatorObject(doc._id)) throw fault(52, `_id fields may not contain '$'-prefixed fields: ${Object.keys(doc._id)[0]} is not valid for storage.`)
    const idKey = hashValue(doc._id)
    if (this.byId.has(idKey)) this.dupError('_id_', { _id: 1 }, doc)
    const keys = this.indexes.map((ix) => ix.keysOf(doc))
    for (let i = 0; i < this.indexes.length; i++) {
      const c = this.indexes[i].conflict(keys[i], undefined)
      if (c !== undefined) this.dupErrorFor(this.indexes[i], c.key, doc)
    }
    const rec: Rec = { doc, seq: this.nextSeq++ }
    this.byId.set(idKey, rec)
    for (let i = 0; i < this.indexes.length; i++) this.indexes[i].add(rec, keys[i], doc)
    return rec
  }

  /** Replaces a record's document after checking unique indexes; all-or-nothing. */
  replace(rec: Rec, next: Doc): void {
    const prev = rec.doc
    const changed: Array<{ ix: SecondaryIndex; before: string[][] | undefined; after: string[][] | undefined }> = []
    for (const ix of this.indexes) {
      const before = ix.keysOf(prev)
      const after = ix.keysOf(next)
      if (sameKeys(before, after)) continue
      const c = ix.conflict(after, rec)
      if (c !== undefined) this.dupErrorFor(ix, c.key, next)
      changed.push({ ix, before, after })
    }
    for (const c of changed) {
      c.ix.remove(rec, c.before)
      c.ix.add(rec, c.after, next)
    }
    rec.doc = next
  }

  remove(rec: Rec): void {
    const doc = rec.doc
    if (!this.byId.delete(hashValue(doc._id))) return
    for (const ix of this.indexes) ix.remove(rec, ix.keysOf(doc))
  }

  findIndex(name: string): SecondaryIndex | undefined {
    return this.indexes.find((ix) => ix.spec.name === name)
  }

  /** Builds a new index over existing documents; fails (and leaves nothing) on duplicates. */
  addIndex(spec: IndexSpec): void {
    const ix = new SecondaryIndex(spec)
    for (const rec of this.byId.values()) {
      const keys = ix.keysOf(rec.doc)
      const c = ix.conflict(keys, rec)
      if (c !== undefined) this.dupErrorFor(ix, c.key, rec.doc)
      ix.add(rec, keys, rec.doc)
    }
    this.indexes.push(ix)
  }

  dropIndex(name: string): void {
    const i = this.indexes.findIndex((ix) => ix.spec.name === name)
    if (i >= 0) this.indexes.splice(i, 1)
  }

  /**
   * Candidate records for a filter, using the _id index or the secondary index with the
   * longest prefix of equality (or small $in) conditions; undefined means "scan everything".
   */
  candidates(filter: Doc | undefined): Iterable<Rec> | undefined {
    if (filter === undefined || filter === null) return undefined
    const idVals = lookupValues(filter._id)
    if (idVals !== undefined) {
      if (idVals.length === 1) {
        const r = this.byId.get(hashValue(idVals[0]))
        return r === undefined ? [] : [r]
      }
      // A Set: an $in of a thousand ids is deduplicated in linear time.
      const out = new Set<Rec>()
      for (const v of idVals) {
        const r = this.byId.get(hashValue(v))
        if (r !== undefined) out.add(r)
      }
      return [...out]
    }
    const best = this.smallestBucket(filter)
    if (best === undefined) return undefined
    const { m, keys } = best
    if (keys.length === 1) return m.get(keys[0]) ?? []
    const out = new Set<Rec>()
    for (const k of keys) {
      const s = m.get(k)
      if (s !== undefined) for (const r of s) out.add(r)
    }
    // Keep natural (insertion) order stable for callers that do not sort.
    return [...out]
  }

  /**
   * Of the indexes usable for the filter's equality (or small $in) conditions, the bucket(s)
   * with the fewest candidates: the buckets' sizes are known, so this is exact (MongoDB's
   * planner races its candidate plans for the same end). The longest prefix alone chose
   * { status, heldUntil } over { bookingId } for { bookingId, status: 'HELD' }, and read every
   * HELD seat to release one booking's.
   */
  private smallestBucket(filter: Doc): { m: Map<string, Set<Rec>>; keys: string[]; size: number } | undefined {
    let best: { m: Map<string, Set<Rec>>; keys: string[]; size: number } | undefined
    for (const ix of this.indexes) {
      const vals: unknown[][] = []
      let combinations = 1
      for (const f of ix.fields) {
        const v = lookupValues(filter[f])
        // A longer prefix multiplies the keys to look up: past MAX_LOOKUP_KEYS the shorter one serves.
        if (v === undefined || (vals.length > 0 && combinations * v.length > MAX_LOOKUP_KEYS)) break
        combinations *= v.length
        vals.push(v)
      }
      if (vals.length === 0 || !ix.usableForLookup(vals)) continue
      let keys = ['']
      for (let i = 0; i < vals.length; i++) {
        const hs = vals[i].map(hashValue)
        const next: string[] = []
        for (const p of keys) for (const h of hs) next.push(i === 0 ? h : p + '|' + h)
        keys = next
      }
      const m = ix.maps[vals.length - 1]
      let size = 0
      for (const k of keys) size += m.get(k)?.size ?? 0
      if (best === undefined || size < best.size) best = { m, keys, size }
      if (size === 0) break
    }
    return best
  }

  /**
   * A read of the filter's candidates already in `sort` order, as MongoDB walks an index: an
   * index whose leading fields the filter fixes by single-value equality (the prefix) and whose
   * next fields are the sort's keys in the index's directions, or all reversed (sort keys that
   * are prefix fields are constant and dropped). `$gt/$gte/$lt/$lte` on the first field after
   * the prefix narrow the walk to a range. The caller still applies the whole filter to every
   * record read: the range is a superset of the matches (comparison operators only match
   * values of the bound's type, which sit together in BSON order), and correctness never
   * depends on the index. Undefined when no index gives that order, when an `_id` lookup is
   * possible, when a record of the bucket has an array in a sort field (multikey sort keys
   * sort by an element; the sorting path handles them), or when another index's equality
   * bucket is more than 4 times smaller (reading in order only pays when a limit stops the
   * walk early, which a far smaller unsorted bucket beats). Without a sort, the same walk is
   * used when a range narrows the bucket to fewer records than the smallest equality bucket
   * (the overdue pass `{ status: 'PENDING', expiresAt: { $lte: now } }` read every pending
   * booking); the records then come in index order, which MongoDB gives too.
   */
  orderedScan(filter: Doc | undefined, sort: Doc | undefined): OrderedScan | undefined {
    if (filter === undefined || filter === null || this.indexes.length === 0) return undefined
    if (lookupValues(filter._id) !== undefined) return undefined
    const sortKeys = sort === undefined || sort === null ? [] : Object.keys(sort)
    if (sortKeys.length === 0 && !Object.keys(filter).some((k) => hasRange(filter[k]))) return undefined
    let plan: { ix: SecondaryIndex; level: number; key: string; step: 1 | -1; size: number } | undefined
    for (const ix of this.indexes) {
      const vals: unknown[][] = []
      while (vals.length < ix.fields.length - 1) {
        const v = lookupValues(filter[ix.fields[vals.length]])
        if (v === undefined || v.length !== 1) break
        vals.push(v)
      }
      const p = vals.length
      if (p === 0 || !ix.usableForLookup(vals)) continue
      const prefix = ix.fields.slice(0, p)
      const rest = sortKeys.filter((k) => !prefix.includes(k))
      if (rest.length > ix.fields.length - p) continue
      // Unsorted, the index only pays with a range to narrow the bucket by.
      if (rest.length === 0 && (sortKeys.length > 0 || !hasRange(filter[ix.fields[p]]))) continue
      let step = 0
      for (let j = 0; j < rest.length && step !== 2; j++) {
        const d = (toNumber(sort?.[rest[j]]) ?? 1) * ix.dirs[p + j]
        if (rest[j] !== ix.fields[p + j] || (step !== 0 && d !== step)) step = 2
        else step = d
      }
      if (rest.length === 0) step = 1
      if (step !== 1 && step !== -1) continue
      const key = vals.map((v) => hashValue(v[0])).join('|')
      const size = ix.maps[p - 1].get(key)?.size ?? 0
      if (plan === undefined || size < plan.size) plan = { ix, level: p - 1, key, step, size }
    }
    if (plan === undefined) return undefined
    const bound = this.smallestBucket(filter)
    if (bound !== undefined && plan.size > 4 * bound.size) return undefined
    const ob = plan.ix.orderedBucket(plan.level, plan.key)
    if (ob === undefined) return { entries: [], from: 0, to: 0, step: 1 }
    if (ob.arrays > 0) return undefined
    const [lo, hi] = rangeOf(ob.entries, filter[plan.ix.fields[plan.level + 1]], plan.ix.dirs[plan.level + 1])
    // Unsorted, every record of the range is read: only worth it when that is fewer.
    if (sortKeys.length === 0 && bound !== undefined && hi - lo >= bound.size) return undefined
    return plan.step === 1 ? { entries: ob.entries, from: lo, to: hi, step: 1 } : { entries: ob.entries, from: hi - 1, to: lo - 1, step: -1 }
  }

  /** Records in natural order restricted to the candidates of `filter`. */
  scan(filter: Doc | undefined): Iterable<Rec> {
    return this.candidates(filter) ?? this.byId.values()
  }
}

/**
 * The positions [lo, hi) of `entries` (sorted by their first value in direction `dir`) that the
 * comparison operators of `cond` can match; every position when there are none.
 */
function rangeOf(entries: Entry[], cond: unknown, dir: number): [number, number] {
  let lo = 0
  let hi = entries.length
  if (!isOperatorObject(cond)) return [lo, hi]
  // First position whose value, compared with b in the entries' direction, passes `pass`.
  const first = (b: unknown, pass: (c: number) => boolean): number => {
    let l = 0
    let h = entries.length
    while (l < h) {
      const mid = (l + h) >> 1
      if (pass(compareValues(entries[mid].vals[0], b) * dir)) h = mid
      else l = mid + 1
    }
    return l
  }
  for (const op of Object.keys(cond)) {
    const b = cond[op]
    // With dir = 1, { $gte: b } keeps from the first value ≥ b; with dir = -1 up to the first < b.
    const up = dir > 0
    if (op === '$gte') { if (up) lo = Math.max(lo, first(b, (c) => c >= 0)); else hi = Math.min(hi, first(b, (c) => c > 0)) }
    else if (op === '$gt') { if (up) lo = Math.max(lo, first(b, (c) => c > 0)); else hi = Math.min(hi, first(b, (c) => c >= 0)) }
    else if (op === '$lte') { if (up) hi = Math.min(hi, first(b, (c) => c > 0)); else lo = Math.max(lo, first(b, (c) => c >= 0)) }
    else if (op === '$lt') { if (up) hi = Math.min(hi, first(b, (c) => c >= 0)); else lo = Math.max(lo, first(b, (c) => c > 0)) }
  }
  return [lo, Math.max(lo, hi)]
}

const RANGE_OPS = ['$gt', '$gte', '$lt', '$lte']

function hasRange(cond: unknown): boolean {
  return isOperatorObject(cond) && Object.keys(cond).some((k) => RANGE_OPS.includes(k))
}

function sameKeys(a: string[][] | undefined, b: string[][] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  const la = a[a.length - 1]
  const lb = b[b.length - 1]
  if (la.length !== lb.length) return false
  for (let i = 0; i < la.length; i++) if (la[i] !== lb[i]) return false
  return true
}

/**
 * The largest `$in` answered from an index (MongoDB's has no such bound short of the document
 * size; a bulk expiry asks for a thousand ids at once). Longer lists are scanned.
 */
const MAX_IN_LOOKUP = 100_000
/** The most index keys one compound lookup may combine (the product of its `$in` lists' lengths). */
const MAX_LOOKUP_KEYS = 4096

/** Scalar values an equality-like condition can match by hash, or undefined if not indexable. */
function lookupValues(cond: unknown): unknown[] | undefined {
  if (cond === undefined) return undefined
  if (isOperatorObject(cond)) {
    const keys = Object.keys(cond)
    if (keys.length !== 1) return undefined
    if (keys[0] === '$eq') return hashable(cond.$eq) ? [cond.$eq] : undefined
    if (keys[0] === '$in' && Array.isArray(cond.$in) && cond.$in.length <= MAX_IN_LOOKUP) {
      return cond.$in.every(hashable) ? cond.$in : undefined
    }
    return undefined
  }
  return hashable(cond) ? [cond] : undefined
}

function hashable(v: unknown): boolean {
  if (v === undefined) return false
  if (v === null) return true
  if (typeof v !== 'object') return true
  if (Array.isArray(v) || v instanceof RegExp || isPlainObject(v)) return false
  return true
}

export type { Document }
