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
import { bsonType, hashValue, isPlainObject, toNumber, type Doc } from './values.js'

export interface Rec { doc: Doc }

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
  private readonly partial: Matcher | undefined

  constructor(spec: IndexSpec) {
    this.spec = spec
    this.fields = Object.keys(spec.key)
    this.maps = this.fields.map(() => new Map())
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

  add(rec: Rec, keys: string[][] | undefined): void {
    if (keys === undefined) return
    for (let i = 0; i < keys.length; i++) {
      const m = this.maps[i]
      for (const k of keys[i]) {
        let s = m.get(k)
        if (s === undefined) { s = new Set(); m.set(k, s) }
        s.add(rec)
      }
    }
  }

  remove(rec: Rec, keys: string[][] | undefined): void {
    if (keys === undefined) return
    for (let i = 0; i < keys.length; i++) {
      const m = this.maps[i]
      for (const k of keys[i]) {
        const s = m.get(k)
        if (s === undefined) continue
        s.delete(rec)
        if (s.size === 0) m.delete(k)
      }
    }
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
    const rec: Rec = { doc }
    this.byId.set(idKey, rec)
    for (let i = 0; i < this.indexes.length; i++) this.indexes[i].add(rec, keys[i])
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
      c.ix.add(rec, c.after)
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
      ix.add(rec, keys)
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
      const out: Rec[] = []
      for (const v of idVals) {
        const r = this.byId.get(hashValue(v))
        if (r !== undefined && !out.includes(r)) out.push(r)
      }
      return out
    }
    // Of the usable indexes, the one with the fewest candidates: the buckets' sizes are known, so
    // this is exact (MongoDB's planner races its candidate plans for the same end). The longest
    // prefix alone chose { status, heldUntil } over { bookingId } for { bookingId, status: 'HELD' },
    // and read every HELD seat to release one booking's.
    let best: { m: Map<string, Set<Rec>>; keys: string[]; size: number } | undefined
    for (const ix of this.indexes) {
      const vals: unknown[][] = []
      for (const f of ix.fields) {
        const v = lookupValues(filter[f])
        if (v === undefined) break
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

  /** Records in natural order restricted to the candidates of `filter`. */
  scan(filter: Doc | undefined): Iterable<Rec> {
    return this.candidates(filter) ?? this.byId.values()
  }
}

function sameKeys(a: string[][] | undefined, b: string[][] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  const la = a[a.length - 1]
  const lb = b[b.length - 1]
  if (la.length !== lb.length) return false
  for (let i = 0; i < la.length; i++) if (la[i] !== lb[i]) return false
  return true
}

const MAX_IN_LOOKUP = 200

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
