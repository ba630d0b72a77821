// The update command: https://www.mongodb.com/docs/manual/reference/command/update/
import type { Collection, Rec } from '../collection.js'
import type { Engine } from '../commands.js'
import { fault, MongoServerFault } from '../errors.js'
import { compileFilter } from '../filter.js'
import { applyUpdate, isOperatorUpdate, upsertBase, validateUpdate } from '../update.js'
import { clone, isPlainObject, type Doc } from '../values.js'
import { checkStorable, type Handler } from './common.js'

/** The document an upsert inserts: the replacement, or the query's equality fields updated. */
export function upsertDoc(filter: Doc, u: Doc | Doc[], arrayFilters: Doc[] | undefined): Doc {
  let doc: Doc
  if (!Array.isArray(u) && !isOperatorUpdate(u)) {
    // A replacement upsert keeps only the query's _id, not its other fields.
    doc = clone(u)
    if (doc._id === undefined && filter._id !== undefined && !isPlainObject(filter._id)) doc = { _id: clone(filter._id), ...doc }
  } else {
    const base = upsertBase(filter)
    doc = applyUpdate(base, u, { filter, arrayFilters, isInsert: true }).doc
  }
  checkStorable(doc)
  return doc
}

/** A replacement document (not operators, not a pipeline): its change event is `replace`. */
export function isReplacement(u: Doc | Doc[]): boolean {
  return !Array.isArray(u) && !isOperatorUpdate(u)
}

function updateOne(e: Engine, db: string, name: string, q: Doc, u: Doc | Doc[], o: { multi: boolean; upsert: boolean; arrayFilters?: Doc[] }):
  { n: number; modified: number; upsertedId?: unknown } {
  if (u === undefined || u === null) throw fault(9, "BSON field 'update.updates.u' is missing but a required field")
  validateUpdate(u)
  if (o.multi && !Array.isArray(u) && !isOperatorUpdate(u) && Object.keys(u).length > 0) {
    throw fault(9, 'multi update is not supported for replacement-style update')
  }
  const filter = q ?? {}
  const m = compileFilter(filter)
  const c = e.catalogue.getCollection(db, name, false)
  let n = 0
  let modified = 0
  if (c !== undefined) {
    const targets: Rec[] = []
    for (const r of c.scan(filter)) {
      if (!m(r.doc)) continue
      targets.push(r)
      if (!o.multi) break
    }
    for (const r of targets) {
      const res = applyUpdate(clone(r.doc), u, { filter, arrayFilters: o.arrayFilters, isInsert: false })
      n++
      if (res.changed) {
        checkStorable(res.doc)
        const prev = r.doc
        c.replace(r, res.doc)
        e.record(isReplacement(u) ? 'replace' : 'update', db, name, prev._id, prev, res.doc)
        modified++
      }
    }
  }
  if (n === 0 && o.upsert) {
    const doc = upsertDoc(filter, u, o.arrayFilters)
    const coll = e.catalogue.getCollection(db, name, true) as Collection
    const rec = coll.insert(doc)
    e.record('insert', db, name, rec.doc._id, undefined, rec.doc)
    return { n: 1, modified: 0, upsertedId: rec.doc._id }
  }
  return { n, modified }
}

export const updateHandlers: Record<string, Handler> = {
  update: (e, db, cmd) => {
    const name = String(cmd.update)
    const ups = (cmd.updates as Doc[] | undefined) ?? []
    const ordered = cmd.ordered !== false
    let n = 0
    let nModified = 0
    const upserted: Doc[] = []
    const writeErrors: Doc[] = []
    for (let i = 0; i < ups.length; i++) {
      const u = ups[i]
      try {
        const res = updateOne(e, db, name, u.q as Doc, u.u as Doc | Doc[], {
          multi: u.multi === true, upsert: u.upsert === true, arrayFilters: u.arrayFilters as Doc[] | undefined,
        })
        n += res.n
        nModified += res.modified
        if (res.upsertedId !== undefined) upserted.push({ index: i, _id: res.upsertedId })
      } catch (err) {
        if (!(err instanceof MongoServerFault)) throw err
        writeErrors.push(err.toWriteError(i))
        if (ordered) break
      }
    }
    const r: Doc = { n, nModified, ok: 1 }
    if (upserted.length > 0) r.upserted = upserted
    if (writeErrors.length > 0) r.writeErrors = writeErrors
    return r
  },
}
