// Query filters compiled to closures, cached by the filter's *shape*.
//
// A shape is the filter with its operand values left out ({ showId: ?, status: ? }). The
// compiled matcher reads operands from the filter it is called with, so one compiled function
// serves every query of the same shape (e.g. every seat claim) and building a matcher per call
// costs only one walk over the filter to compute its shape key.
// Semantics follow https://www.mongodb.com/docs/manual/reference/operator/query/
import { Query } from 'mingo'
import { fault } from './errors.js'
import { bsonType, compareValues, hashValue, isNumber, isPlainObject, toNumber, typeRank, valuesEqual, type Doc } from './values.js'

export type Matcher = (doc: Doc) => boolean
type Compiled = (doc: Doc, root: Doc) => boolean
type Access = (root: Doc) => Doc
type Pred = (v: unknown, root: Doc) => boolean

const shapeCache = new Map<string, Compiled>()
const SHAPE_CACHE_MAX = 2000

export function isOperatorObject(v: unknown): v is Doc {
  if (!isPlainObject(v)) return false
  for (const k in v) return k.charCodeAt(0) === 36 // '$'
  return false
}

function lp(s: string): string {
  return `${s.length}:${s}`
}

function shapeOf(f: Doc): string {
  let s = '{'
  for (const k of Object.keys(f)) {
    const v = f[k]
    if (k === '$and' || k === '$or' || k === '$nor') {
      if (!Array.isArray(v) || v.length === 0) throw fault(2, `${k} must be a nonempty array`)
      s += k + '['
      for (const c of v) {
        if (!isPlainObject(c)) throw fault(2, `${k}'s argument must be an array of full objects`)
        s += shapeOf(c)
      }
      s += ']'
    } else if (k.charCodeAt(0) === 36) {
      s += k + ';'
    } else if (isOperatorObject(v)) {
      s += lp(k) + '{' + opsShape(v) + '}'
    } else {
      s += lp(k) + '=;'
    }
  }
  return s + '}'
}

function opsShape(ops: Doc): string {
  let s = ''
  for (const op of Object.keys(ops)) {
    const v = ops[op]
    if (op === '$elemMatch' && isPlainObject(v)) s += op + (isOperatorObject(v) ? 'o' + opsShape(v) : 'q' + shapeOf(v))
    else if (op === '$not' && isOperatorObject(v)) s += op + '(' + opsShape(v) + ')'
    else s += op + ';'
  }
  return s
}

/** Compiles a filter; throws BadValue for unknown operators like MongoDB does. */
export function compileFilter(filter: Doc | undefined | null): Matcher {
  if (filter === undefined || filter === null) return () => true
  const f = filter
  const key = shapeOf(f)
  let c = shapeCache.get(key)
  if (c === undefined) {
    c = compileDoc(f, (r) => r)
    if (shapeCache.size >= SHAPE_CACHE_MAX) shapeCache.clear()
    shapeCache.set(key, c)
  }
  const compiled = c
  return (doc) => compiled(doc, f)
}

function compileDoc(f: Doc, access: Access): Compiled {
  const parts: Compiled[] = []
  for (const k of Object.keys(f)) {
    const v = f[k]
    if (k.charCodeAt(0) === 36) {
      parts.push(compileTopOp(k, v, access))
    } else if (isOperatorObject(v)) {
      const opsAccess: Access = (r) => access(r)[k] as Doc
      parts.push(compileField(k, compileOps(v, opsAccess, k)))
    } else {
      const get = (r: Doc): unknown => access(r)[k]
      parts.push(compileField(k, eqPred(get)))
    }
  }
  if (parts.length === 0) return () => true
  if (parts.length === 1) return parts[0]
  if (parts.length === 2) {
    const [a, b] = parts
    return (d, r) => a(d, r) && b(d, r)
  }
  return (d, r) => {
    for (const p of parts) if (!p(d, r)) return false
    return true
  }
}

function compileTopOp(op: string, v: unknown, access: Access): Compiled {
  switch (op) {
    case '$and': case '$or': case '$nor': {
      const subs = (v as Doc[]).map((c, i) => compileDoc(c, (r) => (access(r)[op] as Doc[])[i]))
      if (op === '$and') return (d, r) => subs.every((s) => s(d, r))
      if (op === '$or') return (d, r) => subs.some((s) => s(d, r))
      return (d, r) => !subs.some((s) => s(d, r))
    }
    case '$comment': return () => true
    case '$expr': {
      // Aggregation expressions are evaluated by mingo on a copy with JS-native numbers.
      return (d, r) => new Query({ $expr: access(r).$expr } as Doc).test(toMingo(d) as Doc)
    }
    case '$where': throw fault(2, '$where is not allowed in this embedded server')
    case '$text': throw fault(2, 'text search is not supported by the embedded server ($text)')
    case '$jsonSchema': throw fault(2, '$jsonSchema is not supported by the embedded server')
    default: throw fault(2, `unknown top level operator: ${op}`)
  }
}

/** Converts stored values to plain JS numbers for mingo (aggregation, $expr). */
export function toMingo(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(toMingo)
  const t = bsonType(v)
  if (t === 'Double' || t === 'Int32' || t === 'Long' || t === 'Decimal128') return toNumber(v)
  if (t !== undefined || v instanceof Date || v instanceof RegExp || ArrayBuffer.isView(v)) return v
  const out: Doc = {}
  for (const k of Object.keys(v)) out[k] = toMingo((v as Doc)[k])
  return out
}

// --- field paths -------------------------------------------------------------------------

/** Applies `pred` to the value(s) at `path`, descending into arrays like MongoDB does. */
function compileField(path: string, pred: Pred): Compiled {
  if (path.indexOf('.') < 0) {
    return (d, r) => pred(d[path], r)
  }
  const parts = path.split('.')
  return (d, r) => walk(d, parts, 0, pred, r)
}

function walk(v: unknown, parts: string[], i: number, pred: Pred, r: Doc): boolean {
  if (i === parts.length) return pred(v, r)
  if (Array.isArray(v)) {
    const p = parts[i]
    const idx = /^\d+$/.test(p) ? Number(p) : -1
    if (idx >= 0 && walk(v[idx], parts, i + 1, pred, r)) return true
    let sawObject = false
    for (const el of v) {
      if (isPlainObject(el) || Array.isArray(el)) {
        sawObject = true
        if (walk(el, parts, i, pred, r)) return true
      }
    }
    // A path through an array with no sub-documents is "missing" for the remaining path.
    return idx < 0 && !sawObject ? pred(undefined, r) : false
  }
  if (isPlainObject(v)) return walk(v[parts[i]], parts, i + 1, pred, r)
  return pred(undefined, r)
}

/** Equality: matches the value itself or any element of an array value. */
function eqPred(get: (r: Doc) => unknown): Pred {
  return (v, r) => eqMatch(v, get(r))
}

function eqMatch(v: unknown, x: unknown): boolean {
  if (x instanceof RegExp) return regexMatch(v, x)
  if (v === x) return true
  if (x === null || x === undefined) {
    if (v === null || v === undefined) return true
    if (Array.isArray(v)) return v.some((e) => e === null)
    return false
  }
  if (typeof v === 'string' || typeof v === 'boolean' || v === undefined || v === null) return false
  if (Array.isArray(v)) {
    for (const e of v) if (valuesEqual(e, x)) return true
    return Array.isArray(x) && valuesEqual(v, x)
  }
  return valuesEqual(v, x)
}

/** `$in` lists at least this long are matched through a set of their values' hashes. */
const IN_SET_FROM = 16

/** An `$in` list as a set: the hashes of its scalar values, and the values hashes cannot stand for. */
interface InSet { hashes: Set<string>; rest: unknown[] }
// Per list object: a query's filter (and so its list) is the same for every document it tests.
const inSets = new WeakMap<unknown[], InSet>()

/** A value whose equality with another is equality of their hashes (as the indexes use them). */
function hashableScalar(v: unknown): boolean {
  return v !== null && v !== undefined && !Array.isArray(v) && !(v instanceof RegExp) && !isPlainObject(v)
}

/**
 * Whether `v` matches an `$in` list: equal to one of its values, or an array with an element
 * that is (eqMatch). A long list (a bulk write's thousand ids) is looked up by hash rather than
 * compared value by value against every document.
 */
function inMatch(v: unknown, list: unknown[]): boolean {
  if (list.length < IN_SET_FROM) {
    for (const x of list) if (eqMatch(v, x)) return true
    return false
  }
  let set = inSets.get(list)
  if (set === undefined) {
    set = { hashes: new Set(), rest: [] }
    for (const x of list) {
      if (hashableScalar(x)) set.hashes.add(hashValue(x))
      else set.rest.push(x)
    }
    inSets.set(list, set)
  }
  if (hashableScalar(v) && set.hashes.has(hashValue(v))) return true
  if (Array.isArray(v)) for (const e of v) if (hashableScalar(e) && set.hashes.has(hashValue(e))) return true
  for (const x of set.rest) if (eqMatch(v, x)) return true
  return false
}

function regexMatch(v: unknown, re: RegExp): boolean {
  if (typeof v === 'string') {
    re.lastIndex = 0
    return re.test(v)
  }
  if (Array.isArray(v)) return v.some((e) => regexMatch(e, re))
  if (v instanceof RegExp) return v.source === re.source && v.flags === re.flags
  return false
}

// Comparison operators only match values of the same canonical type ("type bracketing"):
// https://www.mongodb.com/docs/manual/reference/method/db.collection.find/#type-bracketing
function cmpMatch(v: unknown, x: unknown, test: (c: number) => boolean): boolean {
  if (Array.isArray(v)) {
    for (const e of v) if (cmpScalar(e, x, test)) return true
    return Array.isArray(x) && test(compareValues(v, x))
  }
  return cmpScalar(v, x, test)
}

function cmpScalar(v: unknown, x: unknown, test: (c: number) => boolean): boolean {
  const rx = typeRank(x)
  if (rx === 1 || rx === 13) return test(compareValues(v, x)) // MinKey/MaxKey compare with all
  if (typeRank(v) !== rx) return false
  if (typeof v === 'number' && typeof x === 'number') {
    // NaN is equal to NaN and neither less nor greater than any other number (mongod's index
    // bounds for { $gte: 5 } or { $lte: 5 } exclude it); the plain comparison made it "equal" to all.
    if (v !== v || x !== x) return v !== v && x !== x && test(0)
    return test(v < x ? -1 : v > x ? 1 : 0)
  }
  return test(compareValues(v, x))
}

const regexCache = new WeakMap<object, RegExp>()

function regexOperand(ops: Doc): RegExp {
  let re = regexCache.get(ops)
  if (re !== undefined) return re
  const src = ops.$regex as unknown
  const opts = typeof ops.$options === 'string' ? ops.$options : ''
  if (src instanceof RegExp) {
    re = new RegExp(src.source, (src.flags + opts).replace(/[^imsu]/g, '').split('').filter((c, i, a) => a.indexOf(c) === i).join(''))
  } else if (typeof src === 'string') {
    re = new RegExp(src, opts.replace(/[^imsu]/g, ''))
  } else if (bsonType(src) === 'BSONRegExp') {
    const b = src as { pattern: string; options: string }
    re = new RegExp(b.pattern, (b.options + opts).replace(/[^imsu]/g, ''))
  } else {
    throw fault(2, '$regex has to be a string')
  }
  regexCache.set(ops, re)
  return re
}

const TYPE_ALIASES: Record<string, number> = {
  double: 1, string: 2, object: 3, array: 4, binData: 5, undefined: 6, objectId: 7, bool: 8, date: 9,
  null: 10, regex: 11, javascript: 13, int: 16, timestamp: 17, long: 18, decimal: 19, minKey: -1, maxKey: 127,
}

function bsonTypeNumber(v: unknown): number {
  if (v === null) return 10
  if (v === undefined) return 6
  switch (typeof v) {
    case 'string': return 2
    case 'boolean': return 8
    case 'number': return Number.isInteger(v) && v <= 2147483647 && v >= -2147483648 ? 16 : 1
    default: break
  }
  if (Array.isArray(v)) return 4
  if (v instanceof Date) return 9
  if (v instanceof RegExp) return 11
  switch (bsonType(v)) {
    case 'Double': return 1
    case 'Int32': return 16
    case 'Long': return 18
    case 'Decimal128': return 19
    case 'ObjectId': return 7
    case 'Binary': return 5
    case 'Timestamp': return 17
    case 'MinKey': return -1
    case 'MaxKey': return 127
    case 'BSONRegExp': return 11
    case 'Code': return 13
    default: return ArrayBuffer.isView(v) ? 5 : 3
  }
}

function typeMatches(v: unknown, spec: unknown): boolean {
  const specs = Array.isArray(spec) ? spec : [spec]
  const t = bsonTypeNumber(v)
  for (const s of specs) {
    if (s === 'number') {
      if (isNumber(v)) return true
      continue
    }
    const n = typeof s === 'string' ? TYPE_ALIASES[s] : toNumber(s)
    if (n === undefined) throw fault(2, `Unknown type name alias: ${String(s)}`)
    if (n === t) return true
  }
  return false
}

function compileOps(ops: Doc, access: Access, path: string): Pred {
  const preds: Pred[] = []
  const keys = Object.keys(ops)
  for (const op of keys) {
    const get = (r: Doc): unknown => access(r)[op]
    switch (op) {
      case '$eq': preds.push((v, r) => eqMatch(v, get(r))); break
      case '$ne': preds.push((v, r) => !eqMatch(v, get(r))); break
      case '$gt': preds.push((v, r) => cmpMatch(v, get(r), (c) => c > 0)); break
      case '$gte': preds.push((v, r) => cmpMatch(v, get(r), (c) => c >= 0) || (get(r) === null && eqMatch(v, null))); break
      case '$lt': preds.push((v, r) => cmpMatch(v, get(r), (c) => c < 0)); break
      case '$lte': preds.push((v, r) => cmpMatch(v, get(r), (c) => c <= 0) || (get(r) === null && eqMatch(v, null))); break
      case '$in': case '$nin': {
        const neg = op === '$nin'
        if (!Array.isArray(ops[op])) throw fault(2, `${op} needs an array`)
        preds.push((v, r) => {
          const hit = inMatch(v, get(r) as unknown[])
          return neg ? !hit : hit
        })
        break
      }
      case '$exists': preds.push((v, r) => (v !== undefined) === Boolean(truthy(get(r)))); break
      case '$type': preds.push((v, r) => {
        const spec = get(r)
        if (Array.isArray(v)) return typeMatches(v, spec) || v.some((e) => typeMatches(e, spec))
        return v !== undefined && typeMatches(v, spec)
      }); break
      case '$regex': preds.push((v, r) => regexMatch(v, regexOperand(access(r)))); break
      case '$options': if (!('$regex' in ops)) throw fault(2, '$options needs a $regex'); break
      case '$size': preds.push((v, r) => Array.isArray(v) && v.length === toNumber(get(r))); break
      case '$mod': preds.push((v, r) => {
        const [d, m] = (get(r) as unknown[]).map((x) => toNumber(x) as number)
        const test = (x: unknown): boolean => isNumber(x) && Math.trunc(toNumber(x) as number) % d === m
        return Array.isArray(v) ? v.some(test) : test(v)
      }); break
      case '$all': preds.push((v, r) => {
        const list = get(r) as unknown[]
        if (list.length === 0) return false
        return list.every((x) => isOperatorObject(x) && '$elemMatch' in x
          ? Array.isArray(v) && v.some((e) => elemMatches(e, x.$elemMatch as Doc))
          : eqMatch(v, x))
      }); break
      case '$elemMatch': {
        const sub = ops.$elemMatch
        if (!isPlainObject(sub)) throw fault(2, '$elemMatch needs an Object')
        if (isOperatorObject(sub) && !('$and' in sub || '$or' in sub || '$nor' in sub)) {
          const p = compileOps(sub, (r) => access(r).$elemMatch as Doc, path)
          preds.push((v, r) => Array.isArray(v) && v.some((e) => p(e, r)))
        } else {
          const c = compileDoc(sub, (r) => access(r).$elemMatch as Doc)
          preds.push((v, r) => Array.isArray(v) && v.some((e) => isPlainObject(e) && c(e, r)))
        }
        break
      }
      case '$not': {
        const sub = ops.$not
        if (sub instanceof RegExp) {
          preds.push((v, r) => !regexMatch(v, get(r) as RegExp))
        } else if (isOperatorObject(sub)) {
          const p = compileOps(sub, (r) => access(r).$not as Doc, path)
          preds.push((v, r) => !p(v, r))
        } else {
          throw fault(2, '$not needs a regex or a document')
        }
        break
      }
      case '$comment': break
      case '$geoWithin': case '$geoIntersects': case '$near': case '$nearSphere': case '$text': case '$where':
        throw fault(2, `${op} is not supported by the embedded server`)
      default: throw fault(2, `unknown operator: ${op}`)
    }
  }
  if (preds.length === 1) return preds[0]
  return (v, r) => {
    for (const p of preds) if (!p(v, r)) return false
    return true
  }
}

function truthy(v: unknown): boolean {
  if (isNumber(v)) return toNumber(v) !== 0
  return Boolean(v)
}

function elemMatches(e: unknown, sub: Doc): boolean {
  if (isOperatorObject(sub)) {
    return compileOps(sub, () => sub, '')(e, sub)
  }
  return isPlainObject(e) && compileFilter(sub)(e)
}

/**
 * Index of the first element of the array at `arrayPath` that satisfies the filter's
 * conditions on that array — what the positional `$` operator refers to.
 * https://www.mongodb.com/docs/manual/reference/operator/update/positional/
 */
export function positionalIndex(doc: Doc, filter: Doc, arrayPath: string): number {
  const arr = getPath(doc, arrayPath)
  if (!Array.isArray(arr)) return -1
  const conds: Array<(e: unknown) => boolean> = []
  collectConds(filter, arrayPath, conds)
  if (conds.length === 0) return -1
  for (let i = 0; i < arr.length; i++) {
    if (conds.every((c) => c(arr[i]))) return i
  }
  return -1
}

function collectConds(filter: Doc, arrayPath: string, out: Array<(e: unknown) => boolean>): void {
  for (const k of Object.keys(filter)) {
    const v = filter[k]
    if (k === '$and' && Array.isArray(v)) {
      for (const c of v) collectConds(c as Doc, arrayPath, out)
    } else if (k === arrayPath) {
      if (isOperatorObject(v) && '$elemMatch' in v && Object.keys(v).length === 1) {
        const sub = v.$elemMatch as Doc
        out.push((e) => elemMatches(e, sub))
      } else {
        const m = compileFilter({ v })
        out.push((e) => m({ v: e }))
      }
    } else if (k.startsWith(arrayPath + '.')) {
      const rest = k.slice(arrayPath.length + 1)
      const m = compileFilter({ [rest]: v })
      out.push((e) => isPlainObject(e) && m(e))
    }
  }
}

/** Plain dotted-path read (no array expansion except numeric indexes). */
export function getPath(doc: unknown, path: string): unknown {
  if (path.indexOf('.') < 0) return isPlainObject(doc) ? doc[path] : undefined
  let v: unknown = doc
  for (const p of path.split('.')) {
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(p)) return undefined
      v = v[Number(p)]
    } else if (isPlainObject(v)) {
      v = v[p]
    } else {
      return undefined
    }
  }
  return v
}
