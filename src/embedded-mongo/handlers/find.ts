// Reads: find, getMore, killCursors, count, distinct.
import type { Long } from 'bson'
import { asLong } from '../cursors.js'
import { fault } from '../errors.js'
import { compileFilter } from '../filter.js'
import { compileProjection } from '../query-exec.js'
import { hashValue, isPlainObject, toNumber, type Doc } from '../values.js'
import { streamGetMore } from '../streams.js'
import { project, select, type Handler } from './common.js'

function distinctValues(doc: Doc, key: string): unknown[] {
  const out: unknown[] = []
  const walk = (v: unknown, parts: string[], i: number): void => {
    if (i === parts.length) {
      if (Array.isArray(v)) out.push(...v)
      else if (v !== undefined) out.push(v)
      return
    }
    if (Array.isArray(v)) { for (const x of v) walk(x, parts, i); return }
    if (isPlainObject(v)) walk(v[parts[i]], parts, i + 1)
  }
  walk(doc, key.split('.'), 0)
  return out
}

export const findHandlers: Record<string, Handler> = {
  find: (e, db, cmd) => {
    const name = String(cmd.find)
    const c = e.catalogue.getCollection(db, name, false)
    const rawLimit = toNumber(cmd.limit) ?? 0
    const limit = Math.abs(rawLimit)
    const skip = toNumber(cmd.skip) ?? 0
    if (skip < 0) throw fault(51024, "BSON field 'skip' value must be >= 0, actual value '" + skip + "'")
    const filter = cmd.filter as Doc | undefined
    const recs = select(c, filter, cmd.sort as Doc | undefined, skip, limit)
    const proj = compileProjection(cmd.projection as Doc | undefined)
    const docs = recs.map((r) => project(proj, r.doc, filter))
    const singleBatch = cmd.singleBatch === true || rawLimit < 0
    return e.cursors.reply(`${db}.${name}`, docs, toNumber(cmd.batchSize), singleBatch)
  },
  getMore: (e, _db, cmd) => {
    const stream = e.streams.get(String(cmd.getMore))
    return stream === undefined ? e.cursors.getMore(cmd) : streamGetMore(e, stream, cmd)
  },
  killCursors: (e, _db, cmd) => {
    const killed: Long[] = []
    const notFound: Long[] = []
    for (const id of (cmd.cursors as unknown[]) ?? []) {
      if (e.killCursor(String(id))) killed.push(asLong(id))
      else notFound.push(asLong(id))
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 }
  },
  count: (e, db, cmd) => {
    const c = e.catalogue.getCollection(db, String(cmd.count), false)
    if (c === undefined) return { n: 0, ok: 1 }
    const q = cmd.query as Doc | undefined
    let n = 0
    if (q === undefined || Object.keys(q).length === 0) n = c.size
    else {
      const m = compileFilter(q)
      for (const r of c.scan(q)) if (m(r.doc)) n++
    }
    const skip = toNumber(cmd.skip) ?? 0
    const limit = Math.abs(toNumber(cmd.limit) ?? 0)
    n = Math.max(0, n - skip)
    if (limit > 0) n = Math.min(n, limit)
    return { n, ok: 1 }
  },
  distinct: (e, db, cmd) => {
    const c = e.catalogue.getCollection(db, String(cmd.distinct), false)
    const key = cmd.key
    if (typeof key !== 'string') throw fault(14, "BSON field 'distinct.key' is the wrong type, expected type 'string'")
    const values: unknown[] = []
    const seen = new Set<string>()
    if (c !== undefined) {
      const q = cmd.query as Doc | undefined
      const m = compileFilter(q)
      for (const r of c.scan(q)) {
        if (!m(r.doc)) continue
        for (const v of distinctValues(r.doc, key)) {
          const h = hashValue(v)
          if (!seen.has(h)) { seen.add(h); values.push(v) }
        }
      }
    }
    return { values, ok: 1 }
  },
}
