// Sorting, bounded top-k selection and find-style projection.
import { fault } from './errors.js'
import { compileFilter, getPath, isOperatorObject } from './filter.js'
import { compareValues, isPlainObject, toNumber, type Doc } from './values.js'

export type Comparator = (a: Doc, b: Doc) => number

/**
 * Sort keys follow MongoDB: an array field sorts by its smallest element ascending and its
 * largest descending; missing sorts as null.
 * https://www.mongodb.com/docs/manual/reference/method/cursor.sort/#sort-with-arrays
 */
export function compileSort(spec: Doc | undefined): Comparator | undefined {
  if (spec === undefined || spec === null) return undefined
  const keys = Object.keys(spec)
  if (keys.length === 0) return undefined
  const fields = keys.map((k) => {
    const raw = spec[k]
    if (isPlainObject(raw)) throw fault(2, `$meta sort is not supported by the embedded server (${k})`)
    const dir = toNumber(raw)
    if (dir !== 1 && dir !== -1) throw fault(2, `$sort key ordering must be 1 (for ascending) or -1 (for descending)`)
    return { path: k, dir }
  })
  return (a, b) => {
    for (const f of fields) {
      const c = compareValues(sortValue(a, f.path, f.dir), sortValue(b, f.path, f.dir))
      if (c !== 0) return c * f.dir
    }
    return 0
  }
}

function sortValue(doc: Doc, path: string, dir: number): unknown {
  const vals: unknown[] = []
  gather(doc, path.split('.'), 0, vals)
  if (vals.length === 0) return null
  let best = vals[0]
  for (let i = 1; i < vals.length; i++) {
    const c = compareValues(vals[i], best)
    if (dir > 0 ? c < 0 : c > 0) best = vals[i]
  }
  return best
}

function gather(v: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(undefined)
      for (const e of v) out.push(e)
    } else {
      out.push(v)
    }
    return
  }
  if (Array.isArray(v)) {
    for (const e of v) gather(e, parts, i, out)
    return
  }
  if (isPlainObject(v)) gather(v[parts[i]], parts, i + 1, out)
  else out.push(undefined)
}

/**
 * The first `k` items of `items` in `cmp` order without sorting all of them: a bounded
 * max-heap of size k, O(n log k). Stable for equal keys (earlier items win).
 */
export function topK<T>(items: Iterable<T>, k: number, cmp: (a: T, b: T) => number): T[] {
  if (k <= 0) return []
  const heap: Array<{ v: T; seq: number }> = []
  const worse = (x: { v: T; seq: number }, y: { v: T; seq: number }): boolean => {
    const c = cmp(x.v, y.v)
    return c > 0 || (c === 0 && x.seq > y.seq)
  }
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!worse(heap[i], heap[p])) break
      ;[heap[i], heap[p]] = [heap[p], heap[i]]
      i = p
    }
  }
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && worse(heap[l], heap[m])) m = l
      if (r < heap.length && worse(heap[r], heap[m])) m = r
      if (m === i) break
      ;[heap[i], heap[m]] = [heap[m], heap[i]]
      i = m
    }
  }
  let seq = 0
  for (const v of items) {
    const e = { v, seq: seq++ }
    if (heap.length < k) {
      heap.push(e)
      up(heap.length - 1)
    } else if (worse(heap[0], e)) {
      heap[0] = e
      down(0)
    }
  }
  return heap.sort((x, y) => cmp(x.v, y.v) || x.seq - y.seq).map((e) => e.v)
}

export function sortAll<T>(items: T[], cmp: (a: T, b: T) => number): T[] {
  return items.sort(cmp) // Array.prototype.sort is stable
}

/**
 * find() projection: inclusion or exclusion (not both, except _id), dotted paths, $slice,
 * $elemMatch and the positional `field.$`.
 * https://www.mongodb.com/docs/manual/reference/method/db.collection.find/#projection
 */
export type Projector = (doc: Doc, filter?: Doc) => Doc

export function compileProjection(spec: Doc | undefined): Projector | undefined {
  if (spec === undefined || spec === null) return undefined
  const keys = Object.keys(spec)
  if (keys.length === 0) return undefined
  let inclusion: boolean | undefined
  let idIncluded = true
  const specials: Array<{ path: string; kind: string; arg: unknown }> = []
  const plain: string[] = []
  for (const k of keys) {
    const v = spec[k]
    if (k.endsWith('.$')) {
      specials.push({ path: k.slice(0, -2), kind: '$', arg: v })
      if (inclusion === false) throw fault(2, 'Cannot do exclusion on field in inclusion projection')
      inclusion = true
      continue
    }
    if (isOperatorObject(v)) {
      const op = Object.keys(v)[0]
      if (op !== '$slice' && op !== '$elemMatch') throw fault(2, `Unsupported projection option: ${k}: { ${op}: ... }`)
      specials.push({ path: k, kind: op, arg: v[op] })
      continue
    }
    const on = typeof v === 'boolean' ? v : (toNumber(v) ?? 1) !== 0
    if (k === '_id') { idIncluded = on; continue }
    if (inclusion === undefined) inclusion = on
    else if (inclusion !== on) {
      throw fault(31254, on ? `Cannot do inclusion on field ${k} in exclusion projection` : `Cannot do exclusion on field ${k} in inclusion projection`)
    }
    plain.push(k)
  }
  // An $elemMatch projection alone behaves as an inclusion ({ _id, field }); $slice alone does not.
  const hasInclusion = inclusion === true || (inclusion === undefined && specials.some((s) => s.kind === '$elemMatch'))
  return (doc, filter) => {
    let out: Doc
    if (hasInclusion) {
      out = {}
      if (idIncluded && '_id' in doc) out._id = doc._id
      for (const p of plain) copyPath(doc, out, p.split('.'))
    } else {
      out = { ...doc }
      if (!idIncluded) delete out._id
      for (const p of plain) removePath(out, p.split('.'))
    }
    for (const s of specials) {
      const val = getPath(doc, s.path)
      if (s.kind === '$slice') {
        if (!Array.isArray(val)) { if (hasInclusion && val !== undefined) out[s.path] = val; continue }
        let sliced: unknown[]
        if (Array.isArray(s.arg)) {
          const [skip, lim] = s.arg.map((x) => toNumber(x) as number)
          const start = skip < 0 ? Math.max(0, val.length + skip) : skip
          sliced = val.slice(start, start + lim)
        } else {
          const n = toNumber(s.arg) as number
          sliced = n >= 0 ? val.slice(0, n) : val.slice(Math.max(0, val.length + n))
        }
        setTop(out, s.path, sliced)
      } else if (s.kind === '$elemMatch') {
        if (!Array.isArray(val)) { delete out[s.path]; continue }
        const m = compileFilter(s.arg as Doc)
        const hit = val.find((e) => isPlainObject(e) && m(e))
        if (hit === undefined) delete out[s.path]
        else out[s.path] = [hit]
      } else {
        if (!Array.isArray(val) || filter === undefined) continue
        const cond = filter[s.path]
        const m = cond === undefined ? undefined : compileFilter({ v: cond })
        const idx = m === undefined ? -1 : val.findIndex((e) => m({ v: e }))
        if (idx >= 0) setTop(out, s.path, [val[idx]])
      }
    }
    return out
  }
}

function setTop(out: Doc, path: string, v: unknown): void {
  const parts = path.split('.')
  let o = out
  for (let i = 0; i < parts.length - 1; i++) {
    const n = o[parts[i]]
    if (!isPlainObject(n)) return
    const copy = { ...n }
    o[parts[i]] = copy
    o = copy
  }
  o[parts[parts.length - 1]] = v
}

function copyPath(src: unknown, dst: Doc, parts: string[]): void {
  if (!isPlainObject(src)) return
  const v = src[parts[0]]
  if (v === undefined) return
  if (parts.length === 1) { dst[parts[0]] = v; return }
  if (Array.isArray(v)) {
    const prev = dst[parts[0]]
    const arr: unknown[] = Array.isArray(prev) ? prev : []
    v.forEach((e, i) => {
      if (!isPlainObject(e)) return
      const target = isPlainObject(arr[i]) ? (arr[i] as Doc) : {}
      copyPath(e, target, parts.slice(1))
      arr[i] = target
    })
    dst[parts[0]] = arr.filter((x) => x !== undefined)
    return
  }
  if (!isPlainObject(v)) return
  const target = isPlainObject(dst[parts[0]]) ? (dst[parts[0]] as Doc) : {}
  copyPath(v, target, parts.slice(1))
  dst[parts[0]] = target
}

function removePath(dst: Doc, parts: string[]): void {
  if (parts.length === 1) { delete dst[parts[0]]; return }
  const v = dst[parts[0]]
  if (Array.isArray(v)) {
    dst[parts[0]] = v.map((e) => {
      if (!isPlainObject(e)) return e
      const c = { ...e }
      removePath(c, parts.slice(1))
      return c
    })
  } else if (isPlainObject(v)) {
    const c = { ...v }
    removePath(c, parts.slice(1))
    dst[parts[0]] = c
  }
}
