// What the command handlers share: their signature and the read path (select, project).
import type { Collection, Rec } from '../collection.js'
import type { Engine } from '../commands.js'
import { fault } from '../errors.js'
import { compileFilter } from '../filter.js'
import { compileSort, topK, type Projector } from '../query-exec.js'
import type { Doc } from '../values.js'

export interface ConnectionInfo {
  id: number
}

/** One command: runs synchronously unless it must wait (an awaiting getMore, an awaitable hello). */
export type Handler = (e: Engine, db: string, cmd: Doc, conn: ConnectionInfo) => Doc | Promise<Doc>

function* filterIter(src: Iterable<Rec>, m: (d: Doc) => boolean): Iterable<Rec> {
  for (const r of src) if (m(r.doc)) yield r
}

/** Matching records in natural order, or in sort order: read in index order when an index gives it, else sorted (top-k with a limit). */
export function select(c: Collection | undefined, filter: Doc | undefined, sort: Doc | undefined, skip: number, limit: number): Rec[] {
  const m = compileFilter(filter)
  const cmp = compileSort(sort)
  if (c === undefined) return []
  const os = c.orderedScan(filter, cmp === undefined ? undefined : sort)
  if (os !== undefined) {
    // Candidates come in sort order (or a range narrowed them): stop once `limit` of them match.
    const out: Rec[] = []
    let skipped = 0
    const { entries, to, step } = os
    for (let i = os.from; i !== to; i += step) {
      const r = entries[i].rec
      if (!m(r.doc)) continue
      if (skipped < skip) { skipped++; continue }
      out.push(r)
      if (limit > 0 && out.length >= limit) break
    }
    return out
  }
  const src = c.scan(filter)
  if (cmp === undefined) {
    const out: Rec[] = []
    let skipped = 0
    for (const r of src) {
      if (!m(r.doc)) continue
      if (skipped < skip) { skipped++; continue }
      out.push(r)
      if (limit > 0 && out.length >= limit) break
    }
    return out
  }
  const matched = filterIter(src, m)
  const rc = (a: Rec, b: Rec): number => cmp(a.doc, b.doc)
  if (limit > 0) return topK(matched, skip + limit, rc).slice(skip)
  const all = [...matched].sort(rc)
  return skip > 0 ? all.slice(skip) : all
}

export function project(p: Projector | undefined, doc: Doc, filter: Doc | undefined): Doc {
  return p === undefined ? doc : p(doc, filter)
}

/** Top-level field names may not start with `$` (storage rule since MongoDB 5 only for top level). */
export function checkStorable(doc: Doc): void {
  for (const k of Object.keys(doc)) {
    if (k.charCodeAt(0) === 36) throw fault(52, `Document can't have $ prefixed field names: ${k}`)
  }
}
