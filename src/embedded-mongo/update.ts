// Update operators, applied directly to a private copy of the document (copy-on-write: the
// stored document is only replaced once the whole update succeeded, which makes each update
// of a document atomic). https://www.mongodb.com/docs/manual/reference/operator/update/
import { Aggregator } from 'mingo'
import { Timestamp } from 'bson'
import { fault } from './errors.js'
import { compileFilter, isOperatorObject, positionalIndex, toMingo } from './filter.js'
import { addNumbers, clone, compareValues, isNumber, isPlainObject, normalize, toNumber, valuesEqual, type Doc } from './values.js'

export interface UpdateContext {
  /** The query that selected the document (for the positional `$` operator). */
  filter: Doc
  arrayFilters?: Doc[]
  isInsert: boolean
}

const UPDATE_OPS = new Set(['$set', '$unset', '$inc', '$mul', '$min', '$max', '$push', '$pull', '$pullAll',
  '$addToSet', '$pop', '$rename', '$setOnInsert', '$currentDate', '$bit'])

export function isOperatorUpdate(u: Doc): boolean {
  const keys = Object.keys(u)
  return keys.length > 0 && keys[0].charCodeAt(0) === 36
}

/** Throws for malformed update documents before any document is touched. */
export function validateUpdate(u: Doc | Doc[]): void {
  if (Array.isArray(u)) return
  if (!isOperatorUpdate(u)) {
    for (const k of Object.keys(u)) {
      if (k.charCodeAt(0) === 36) throw fault(52, `The dollar ($) prefixed field '${k}' in '${k}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`)
    }
    return
  }
  const seen: string[] = []
  for (const op of Object.keys(u)) {
    if (!UPDATE_OPS.has(op)) {
      if (op.charCodeAt(0) !== 36) throw fault(9, `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`)
      throw fault(9, `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`)
    }
    const arg = u[op]
    if (!isPlainObject(arg)) throw fault(9, `Modifiers operate on fields but we found type ${typeof arg} instead. For example: {$mod: {<field>: ...}} not {${op}: ${String(arg)}}`)
    for (const p of Object.keys(arg)) {
      if (p === '') throw fault(56, "An empty update path is not valid.")
      const paths = op === '$rename' ? [p, String(arg[p])] : [p]
      for (const path of paths) {
        for (const s of seen) {
          if (s === path || s.startsWith(path + '.') || path.startsWith(s + '.')) {
            throw fault(40, `Updating the path '${path}' would create a conflict at '${s.length < path.length ? s : path}'`)
          }
        }
        seen.push(path)
      }
    }
  }
}

/**
 * Applies `update` to `doc` (which the caller owns and may be modified in place).
 * Returns the resulting document (a new object for replacements and pipelines) and whether
 * anything changed.
 */
export function applyUpdate(doc: Doc, update: Doc | Doc[], ctx: UpdateContext): { doc: Doc; changed: boolean } {
  if (Array.isArray(update)) return applyPipeline(doc, update)
  if (!isOperatorUpdate(update)) {
    const out: Doc = { _id: doc._id }
    for (const k of Object.keys(update)) if (k !== '_id') out[k] = clone(update[k])
    if ('_id' in update && !valuesEqual(update._id, doc._id)) {
      throw fault(66, `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${String(update._id)}`)
    }
    return { doc: out, changed: true }
  }
  const st: State = { changed: false, ctx, doc, positional: undefined }
  const oldId = doc._id
  for (const op of Object.keys(update)) {
    const arg = update[op] as Doc
    for (const path of Object.keys(arg)) {
      if (op === '$setOnInsert' && !ctx.isInsert) continue
      applyOp(st, op, path, arg[path])
    }
  }
  if (oldId !== undefined && !valuesEqual(oldId, doc._id)) {
    throw fault(66, "Performing an update on the path '_id' would modify the immutable field '_id'")
  }
  return { doc, changed: st.changed }
}

interface State { changed: boolean; ctx: UpdateContext; doc: Doc; positional: number | undefined }

function applyPipeline(doc: Doc, pipeline: Doc[]): { doc: Doc; changed: boolean } {
  const allowed = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith'])
  for (const st of pipeline) {
    const k = Object.keys(st)[0]
    if (!allowed.has(k)) throw fault(72, `${k} is not allowed to be used within an update`)
  }
  const res = new Aggregator(pipeline, {}).run([toMingo(doc) as Doc])
  const out = normalize(clone(res[0] ?? {})) as Doc
  if (!valuesEqual(out._id, doc._id)) throw fault(66, "Performing an update on the path '_id' would modify the immutable field '_id'")
  const ordered: Doc = { _id: doc._id }
  for (const k of Object.keys(out)) if (k !== '_id') ordered[k] = out[k]
  return { doc: ordered, changed: compareValues(doc, ordered) !== 0 }
}

/** Expands `$`, `$[]` and `$[id]` into concrete paths (arrays of parts). */
function expand(st: State, path: string): string[][] {
  const parts = path.split('.')
  if (path.indexOf('$') < 0) return [parts]
  let acc: string[][] = [[]]
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    if (p === '$') {
      if (st.positional === undefined) {
        const prefix = parts.slice(0, i).join('.')
        st.positional = positionalIndex(st.doc, st.ctx.filter, prefix)
      }
      if (st.positional < 0) throw fault(2, 'The positional operator did not find the match needed from the query.')
      const idx = String(st.positional)
      acc = acc.map((a) => [...a, idx])
    } else if (p.startsWith('$[')) {
      const id = p.slice(2, -1)
      const next: string[][] = []
      for (const a of acc) {
        const arr = getAt(st.doc, a)
        if (!Array.isArray(arr)) {
          if (arr === undefined) continue
          throw fault(2, `The path '${a.join('.')}' must exist in the document in order to apply array updates.`)
        }
        const test = id === '' ? () => true : arrayFilterTest(st, id)
        for (let j = 0; j < arr.length; j++) if (test(arr[j])) next.push([...a, String(j)])
      }
      acc = next
    } else {
      acc = acc.map((a) => [...a, p])
    }
  }
  return acc
}

function arrayFilterTest(st: State, id: string): (e: unknown) => boolean {
  const filters = st.ctx.arrayFilters ?? []
  for (const f of filters) {
    const keys = Object.keys(f)
    if (keys.length === 0) continue
    const first = keys[0].split('.')[0]
    if (first !== id) continue
    const whole: Doc = {}
    const sub: Doc = {}
    let hasSub = false
    for (const k of keys) {
      if (k === id) whole.v = f[k]
      else { sub[k.slice(id.length + 1)] = f[k]; hasSub = true }
    }
    const mw = 'v' in whole ? compileFilter(whole) : undefined
    const ms = hasSub ? compileFilter(sub) : undefined
    return (e) => (mw === undefined || mw({ v: e })) && (ms === undefined || (isPlainObject(e) && ms(e)))
  }
  throw fault(2, `No array filter found for identifier '${id}' in path`)
}

function getAt(doc: unknown, parts: string[]): unknown {
  let v = doc
  for (const p of parts) {
    if (Array.isArray(v)) v = v[Number(p)]
    else if (isPlainObject(v)) v = v[p]
    else return undefined
  }
  return v
}

/** Finds (creating objects on the way) the container of the last part. */
function parentOf(doc: Doc, parts: string[], create: boolean): Doc | unknown[] | undefined {
  let v: unknown = doc
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]
    let next: unknown
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(p)) throw fault(28, `Cannot create field '${p}' in element {${parts.slice(0, i).join('.')}: [...]}`)
      next = v[Number(p)]
      if ((next === undefined || next === null) && create) {
        next = {}
        while (v.length < Number(p)) v.push(null)
        v[Number(p)] = next
      }
    } else if (isPlainObject(v)) {
      next = v[p]
      if (next === undefined && create) {
        next = {}
        v[p] = next
      }
    } else {
      if (!create) return undefined
      throw fault(28, `Cannot create field '${p}' in element {${parts[i - 1]}: ${JSON.stringify(v)}}`)
    }
    if (next === undefined) return undefined
    if (next === null || typeof next !== 'object' || (!Array.isArray(next) && !isPlainObject(next))) {
      if (!create) return undefined
      throw fault(28, `Cannot create field '${parts[i + 1]}' in element {${p}: ${JSON.stringify(next)}}`)
    }
    v = next
  }
  return v as Doc | unknown[]
}

function setAt(st: State, parts: string[], value: unknown): void {
  const parent = parentOf(st.doc, parts, true) as Doc | unknown[]
  const last = parts[parts.length - 1]
  if (Array.isArray(parent)) {
    if (!/^\d+$/.test(last)) throw fault(28, `Cannot create field '${last}' in element {${parts.slice(0, -1).join('.')}: [...]}`)
    const i = Number(last)
    if (i < parent.length && sameValue(parent[i], value)) return
    while (parent.length < i) parent.push(null)
    parent[i] = value
  } else {
    if (last in parent && sameValue(parent[last], value)) return
    parent[last] = value
  }
  st.changed = true
}

function sameValue(a: unknown, b: unknown): boolean {
  return valuesEqual(a, b) && typeof a === typeof b
}

function unsetAt(st: State, parts: string[]): void {
  const parent = parentOf(st.doc, parts, false)
  if (parent === undefined) return
  const last = parts[parts.length - 1]
  if (Array.isArray(parent)) {
    const i = Number(last)
    // $unset on an array element sets it to null rather than shifting the array.
    if (i < parent.length && parent[i] !== null) { parent[i] = null; st.changed = true }
  } else if (last in parent) {
    delete parent[last]
    st.changed = true
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'object') return (v as { _bsontype?: string })._bsontype ?? 'object'
  return typeof v
}

function applyOp(st: State, op: string, path: string, arg: unknown): void {
  for (const parts of expand(st, path)) {
    const cur = getAt(st.doc, parts)
    switch (op) {
      case '$set': case '$setOnInsert':
        setAt(st, parts, clone(arg))
        break
      case '$unset':
        unsetAt(st, parts)
        break
      case '$inc': case '$mul': {
        if (!isNumber(arg)) throw fault(14, `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${JSON.stringify(arg)}}`)
        if (cur === undefined) { setAt(st, parts, op === '$inc' ? arg : addNumbers(0, arg, true)); break }
        if (!isNumber(cur)) throw fault(14, `Cannot apply ${op} to a value of non-numeric type. {_id: ${String(st.doc._id)}} has the field '${parts[parts.length - 1]}' of non-numeric type ${typeName(cur)}`)
        setAt(st, parts, addNumbers(cur, arg, op === '$mul'))
        break
      }
      case '$min': case '$max': {
        const c = cur === undefined ? 0 : compareValues(arg, cur)
        if (cur === undefined || (op === '$min' ? c < 0 : c > 0)) setAt(st, parts, clone(arg))
        break
      }
      case '$currentDate': {
        const wantTs = isPlainObject(arg) && arg.$type === 'timestamp'
        setAt(st, parts, wantTs ? Timestamp.fromNumber(Math.floor(Date.now() / 1000) * 2 ** 32) : new Date())
        break
      }
      case '$rename': {
        if (typeof arg !== 'string') throw fault(2, `The 'to' field for $rename must be a string: ${path}: ${String(arg)}`)
        if (cur === undefined) break
        unsetAt(st, parts)
        setAt(st, arg.split('.'), cur)
        break
      }
      case '$push': case '$addToSet': {
        if (cur !== undefined && !Array.isArray(cur)) {
          throw fault(2, `The field '${path}' must be an array but is of type ${typeName(cur)} in document {_id: ${String(st.doc._id)}}`)
        }
        const arr = cur === undefined ? [] : (cur as unknown[]).slice()
        const hasEach = isOperatorObject(arg) && '$each' in arg
        if (isOperatorObject(arg) && !hasEach) throw fault(2, `Unrecognized clause in ${op}: ${Object.keys(arg)[0]}`)
        const items = hasEach ? (arg.$each as unknown[]) : [arg]
        if (!Array.isArray(items)) throw fault(2, `The argument to $each in ${op} must be an array but it was of type: ${typeName(items)}`)
        if (op === '$addToSet') {
          for (const it of items) if (!arr.some((e) => valuesEqual(e, it))) arr.push(clone(it))
        } else {
          const m = hasEach ? (arg as Doc) : {}
          let pos = m.$position === undefined ? arr.length : (toNumber(m.$position) as number)
          if (pos < 0) pos = Math.max(0, arr.length + pos)
          arr.splice(Math.min(pos, arr.length), 0, ...items.map((x) => clone(x)))
          if (m.$sort !== undefined) sortArray(arr, m.$sort)
          if (m.$slice !== undefined) {
            const n = toNumber(m.$slice) as number
            const kept = n >= 0 ? arr.slice(0, n) : arr.slice(Math.max(0, arr.length + n))
            arr.length = 0
            arr.push(...kept)
          }
        }
        if (cur === undefined || !valuesEqual(arr, cur)) setAt(st, parts, arr)
        break
      }
      case '$pop': {
        if (cur === undefined) break
        if (!Array.isArray(cur)) throw fault(14, `Path '${path}' contains an element of non-array type '${typeName(cur)}'`)
        if (cur.length === 0) break
        setAt(st, parts, toNumber(arg) === -1 ? cur.slice(1) : cur.slice(0, -1))
        break
      }
      case '$pull': case '$pullAll': {
        if (cur === undefined) break
        if (!Array.isArray(cur)) throw fault(2, `Cannot apply ${op} to a non-array value`)
        let keep: unknown[]
        if (op === '$pullAll') {
          if (!Array.isArray(arg)) throw fault(2, `$pullAll requires an array argument but was given a ${typeName(arg)}`)
          keep = cur.filter((e) => !arg.some((x) => valuesEqual(e, x)))
        } else if (isOperatorObject(arg)) {
          const m = compileFilter({ v: arg })
          keep = cur.filter((e) => !m({ v: e }))
        } else if (isPlainObject(arg)) {
          // A document condition is a query on each element ($pull's documented behaviour).
          const m = compileFilter(arg)
          keep = cur.filter((e) => !(isPlainObject(e) && m(e)))
        } else {
          keep = cur.filter((e) => !valuesEqual(e, arg) || (arg instanceof RegExp))
          if (arg instanceof RegExp) keep = cur.filter((e) => !(typeof e === 'string' && arg.test(e)))
        }
        if (keep.length !== cur.length) setAt(st, parts, keep)
        break
      }
      case '$bit': {
        const spec = arg as Doc
        let v = toNumber(cur ?? 0) as number
        if (spec.and !== undefined) v &= toNumber(spec.and) as number
        if (spec.or !== undefined) v |= toNumber(spec.or) as number
        if (spec.xor !== undefined) v ^= toNumber(spec.xor) as number
        setAt(st, parts, v)
        break
      }
      default:
        throw fault(9, `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`)
    }
  }
}

function sortArray(arr: unknown[], spec: unknown): void {
  if (isPlainObject(spec)) {
    const keys = Object.keys(spec)
    arr.sort((a, b) => {
      for (const k of keys) {
        const dir = toNumber(spec[k]) as number
        const c = compareValues(getAt(a, k.split('.')), getAt(b, k.split('.')))
        if (c !== 0) return c * dir
      }
      return 0
    })
  } else {
    const dir = toNumber(spec) as number
    arr.sort((a, b) => compareValues(a, b) * dir)
  }
}

/**
 * Builds the base document of an upsert from the query's equality conditions.
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.update/#upsert-behavior
 */
export function upsertBase(filter: Doc): Doc {
  const out: Doc = {}
  const take = (f: Doc): void => {
    for (const k of Object.keys(f)) {
      const v = f[k]
      if (k === '$and' && Array.isArray(v)) { for (const c of v) take(c as Doc); continue }
      if (k.charCodeAt(0) === 36) continue
      let val: unknown
      if (isOperatorObject(v)) {
        if ('$eq' in v) val = v.$eq
        else if (Array.isArray(v.$in) && v.$in.length === 1) val = v.$in[0]
        else continue
      } else {
        val = v
      }
      if (val instanceof RegExp) continue
      const parts = k.split('.')
      let o = out
      for (let i = 0; i < parts.length - 1; i++) {
        if (!isPlainObject(o[parts[i]])) o[parts[i]] = {}
        o = o[parts[i]] as Doc
      }
      o[parts[parts.length - 1]] = clone(val)
    }
  }
  take(filter)
  return out
}
