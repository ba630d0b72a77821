// Value model, BSON type order, comparison, equality, hashing and copying.
//
// Documents are stored as decoded with `promoteValues: false` and then normalised by
// `normalize()`: Int32 becomes a plain JS number (bson serialises an integral JS number that
// fits in 32 bits back as Int32, so nothing is lost), a Double becomes a plain number unless it
// is integral and would come back as Int32 (then the `Double` wrapper is kept so 5.0 stays a
// double), Long/Decimal128 stay wrapped. Most values are therefore primitives, which keeps
// matching fast, and the Int32/Int64/Double distinction still round-trips.
import { Double, Long, ObjectId, type Document } from 'bson'

export type Doc = Document

interface BsonTagged { _bsontype: string }

export function bsonType(v: unknown): string | undefined {
  if (v !== null && typeof v === 'object' && '_bsontype' in v) return (v as BsonTagged)._bsontype
  return undefined
}

export function isPlainObject(v: unknown): v is Doc {
  if (v === null || typeof v !== 'object') return false
  if (Array.isArray(v) || v instanceof Date || v instanceof RegExp) return false
  if ('_bsontype' in v) return false
  if (ArrayBuffer.isView(v)) return false
  return true
}

const INT32_MAX = 2147483647
const INT32_MIN = -2147483648

/** Normalises a freshly decoded (promoteValues: false) value in place and returns it. */
export function normalize(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalize(v[i])
    return v
  }
  const t = bsonType(v)
  if (t !== undefined) {
    if (t === 'Int32') return (v as unknown as { value: number }).value
    if (t === 'Double') {
      const n = (v as unknown as { value: number }).value
      if (Number.isInteger(n) && n <= INT32_MAX && n >= INT32_MIN) return v
      return n
    }
    return v
  }
  if (v instanceof Date || v instanceof RegExp || ArrayBuffer.isView(v)) return v
  const o = v as Doc
  for (const k of Object.keys(o)) o[k] = normalize(o[k])
  return o
}

/** Numeric value of any BSON number, or undefined if `v` is not a number. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  const t = bsonType(v)
  if (t === 'Double' || t === 'Int32') return (v as { value: number }).value
  if (t === 'Long') return (v as Long).toNumber()
  if (t === 'Decimal128') return Number.parseFloat((v as { toString(): string }).toString())
  return undefined
}

export function isNumber(v: unknown): boolean {
  if (typeof v === 'number') return true
  const t = bsonType(v)
  return t === 'Double' || t === 'Int32' || t === 'Long' || t === 'Decimal128'
}

// Canonical BSON sort order: https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/
// MinKey < null (and missing) < numbers < symbol/string < object < array < binData < ObjectId
// < boolean < date < timestamp < regex < MaxKey.
export function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 2
  switch (typeof v) {
    case 'number': return 3
    case 'bigint': return 3
    case 'string': return 4
    case 'boolean': return 9
    default: break
  }
  if (Array.isArray(v)) return 6
  if (v instanceof Date) return 10
  if (v instanceof RegExp) return 12
  const t = bsonType(v)
  switch (t) {
    case undefined: return ArrayBuffer.isView(v) ? 7 : 5
    case 'MinKey': return 1
    case 'MaxKey': return 13
    case 'Int32': case 'Double': case 'Long': case 'Decimal128': return 3
    case 'BSONSymbol': return 4
    case 'Binary': return 7
    case 'ObjectId': return 8
    case 'Timestamp': return 11
    case 'BSONRegExp': return 12
    case 'Code': return 14
    default: return 5
  }
}

function cmpPrim(a: number | string | boolean, b: number | string | boolean): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareNumbers(a: unknown, b: unknown): number {
  // NaN is neither < nor > anything: without the checks below it compared equal to every number,
  // so { n: 1 } matched NaN through a scan while the index (hashed by value) rightly did not.
  if (typeof a === 'number' && typeof b === 'number' && !Number.isNaN(a) && !Number.isNaN(b)) return a < b ? -1 : a > b ? 1 : 0
  // Longs beyond 2^53 keep exact order by comparing as Long when both are Longs.
  if (bsonType(a) === 'Long' && bsonType(b) === 'Long') return (a as Long).compare(b as Long)
  const x = toNumber(a) as number
  const y = toNumber(b) as number
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1 // NaN sorts before every other number
  if (Number.isNaN(y)) return 1
  return x < y ? -1 : x > y ? 1 : 0
}

function bytesOf(v: unknown): Uint8Array {
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  return (v as { buffer: Uint8Array }).buffer
}

/** Total order over BSON values, as MongoDB sorts and compares them. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a)
  const rb = typeRank(b)
  if (ra !== rb) return ra < rb ? -1 : 1
  switch (ra) {
    case 1: case 2: case 13: return 0
    case 3: return compareNumbers(a, b)
    case 4: return cmpPrim(String(a), String(b))
    case 9: return cmpPrim(a as boolean, b as boolean)
    case 10: return cmpPrim((a as Date).getTime(), (b as Date).getTime())
    case 8: return cmpPrim((a as ObjectId).toHexString(), (b as ObjectId).toHexString())
    case 6: {
      const x = a as unknown[]
      const y = b as unknown[]
      const n = Math.min(x.length, y.length)
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i], y[i])
        if (c !== 0) return c
      }
      return cmpPrim(x.length, y.length)
    }
    case 5: {
      // Objects compare field by field: first the field's type, then its name, then its value.
      const x = a as Doc
      const y = b as Doc
      const kx = Object.keys(x)
      const ky = Object.keys(y)
      const n = Math.min(kx.length, ky.length)
      for (let i = 0; i < n; i++) {
        const tr = typeRank(x[kx[i]]) - typeRank(y[ky[i]])
        if (tr !== 0) return tr < 0 ? -1 : 1
        const kc = cmpPrim(kx[i], ky[i])
        if (kc !== 0) return kc
        const c = compareValues(x[kx[i]], y[ky[i]])
        if (c !== 0) return c
      }
      return cmpPrim(kx.length, ky.length)
    }
    case 7: {
      // Binary: by length, then subtype, then bytes.
      const x = bytesOf(a)
      const y = bytesOf(b)
      if (x.length !== y.length) return x.length < y.length ? -1 : 1
      const sx = (a as { sub_type?: number }).sub_type ?? 0
      const sy = (b as { sub_type?: number }).sub_type ?? 0
      if (sx !== sy) return sx < sy ? -1 : 1
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1
      return 0
    }
    case 11: return (a as Long).compare(b as Long)
    case 12: return cmpPrim(String(a), String(b))
    default: return cmpPrim(String(a), String(b))
  }
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a === 'string' || typeof b === 'string') return false
  if (typeof a === 'boolean' || typeof b === 'boolean') return false
  if (a === null || a === undefined) return b === null || b === undefined
  if (b === null || b === undefined) return false
  return compareValues(a, b) === 0
}

function lp(s: string): string {
  return `${s.length}:${s}`
}

/**
 * A string that is equal for two values exactly when MongoDB considers them equal
 * (1, 1.0 and Long(1) hash alike). Used for index buckets and unique checks.
 */
export function hashValue(v: unknown): string {
  if (v === undefined || v === null) return 'z'
  switch (typeof v) {
    case 'string': return 's' + lp(v)
    case 'number': return 'n' + (Object.is(v, -0) ? '0' : String(v))
    case 'boolean': return v ? 'T' : 'F'
    default: break
  }
  if (Array.isArray(v)) return 'A' + v.length + '[' + v.map(hashValue).join(',') + ']'
  if (v instanceof Date) return 'd' + v.getTime()
  if (v instanceof RegExp) return 'r' + lp(v.source) + v.flags
  const t = bsonType(v)
  switch (t) {
    case 'ObjectId': return 'o' + (v as ObjectId).toHexString()
    case 'Double': case 'Int32': case 'Decimal128': {
      const n = toNumber(v) as number
      return 'n' + (Object.is(n, -0) ? '0' : String(n))
    }
    case 'Long': {
      const l = v as Long
      const n = l.toNumber()
      return 'n' + (Number.isSafeInteger(n) ? String(n) : l.toString())
    }
    case 'Binary': return 'x' + ((v as { sub_type: number }).sub_type) + Buffer.from(bytesOf(v)).toString('base64')
    case 'MinKey': return 'm'
    case 'MaxKey': return 'M'
    case 'Timestamp': return 't' + (v as Long).toString()
    case undefined: break
    default: return t + lp(String((v as { toString(): string }).toString()))
  }
  if (ArrayBuffer.isView(v)) return 'x0' + Buffer.from(bytesOf(v)).toString('base64')
  const o = v as Doc
  let s = 'O{'
  for (const k of Object.keys(o)) s += lp(k) + hashValue(o[k]) + ','
  return s + '}'
}

/** Deep copy of plain objects and arrays; BSON scalars are immutable and shared (Dates copied). */
export function clone<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    const out = new Array(v.length)
    for (let i = 0; i < v.length; i++) out[i] = clone(v[i])
    return out as T
  }
  if (v instanceof Date) return new Date(v.getTime()) as T
  if (!isPlainObject(v)) return v
  const out: Doc = {}
  for (const k of Object.keys(v)) out[k] = clone((v as Doc)[k])
  return out as T
}

export function newObjectId(): ObjectId {
  return new ObjectId()
}

/** Adds two BSON numbers following MongoDB's type promotion rules (int < long < double < decimal). */
export function addNumbers(a: unknown, b: unknown, mul = false): unknown {
  const ta = numKind(a)
  const tb = numKind(b)
  const kind = Math.max(ta, tb)
  if (kind === 3) {
    const x = toNumber(a) as number
    const y = toNumber(b) as number
    return mul ? x * y : x + y // Decimal128 arithmetic approximated in double precision
  }
  if (kind === 2) {
    const r = mul ? (toNumber(a) as number) * (toNumber(b) as number) : (toNumber(a) as number) + (toNumber(b) as number)
    // Keep the double-ness of integral results so they do not come back as Int32.
    return Number.isInteger(r) && r <= INT32_MAX && r >= INT32_MIN ? new Double(r) : r
  }
  if (kind === 1) {
    const x = typeof a === 'number' ? Long.fromNumber(a) : (a as Long)
    const y = typeof b === 'number' ? Long.fromNumber(b) : (b as Long)
    return mul ? x.multiply(y) : x.add(y)
  }
  const r = mul ? (a as number) * (b as number) : (a as number) + (b as number)
  if (r > INT32_MAX || r < INT32_MIN) return Long.fromNumber(r) // int overflow promotes to long
  return r
}

// 0 int32, 1 long, 2 double, 3 decimal
function numKind(v: unknown): number {
  if (typeof v === 'number') return Number.isInteger(v) && v <= INT32_MAX && v >= INT32_MIN ? 0 : 2
  const t = bsonType(v)
  if (t === 'Long') return 1
  if (t === 'Double') return 2
  if (t === 'Decimal128') return 3
  return 0
}
