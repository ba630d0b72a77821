// https://www.mongodb.com/docs/manual/reference/command/findAndModify/
import type { Collection } from '../collection.js'
import { fault } from '../errors.js'
import { compileProjection } from '../query-exec.js'
import { applyUpdate, validateUpdate } from '../update.js'
import { clone, type Doc } from '../values.js'
import { checkStorable, project, select, type Handler } from './common.js'
import { isReplacement, upsertDoc } from './update.js'

const findAndModify: Handler = (e, db, cmd) => {
  const name = String(cmd.findAndModify ?? cmd.findandmodify)
  const filter = (cmd.query as Doc | undefined) ?? {}
  const remove = cmd.remove === true
  const u = cmd.update as Doc | Doc[] | undefined
  if (!remove && u === undefined) throw fault(9, 'Either an update or remove=true must be specified')
  if (remove && u !== undefined) throw fault(9, 'Cannot specify both an update and remove=true')
  if (remove && cmd.upsert === true) throw fault(9, 'Cannot specify both upsert=true and remove=true')
  if (remove && cmd.new === true) throw fault(9, 'Cannot specify both new=true and remove=true; \'remove\' always returns the deleted document')
  if (u !== undefined) validateUpdate(u)
  const proj = compileProjection(cmd.fields as Doc | undefined)
  const c = e.catalogue.getCollection(db, name, false)
  const [rec] = select(c, filter, cmd.sort as Doc | undefined, 0, 1)
  if (rec !== undefined && c !== undefined) {
    const before = rec.doc
    if (remove) {
      c.remove(rec)
      e.record('delete', db, name, before._id)
      return { lastErrorObject: { n: 1 }, value: project(proj, before, filter), ok: 1 }
    }
    const res = applyUpdate(clone(before), u as Doc | Doc[], { filter, arrayFilters: cmd.arrayFilters as Doc[] | undefined, isInsert: false })
    if (res.changed) {
      checkStorable(res.doc)
      c.replace(rec, res.doc)
      e.record(isReplacement(u as Doc | Doc[]) ? 'replace' : 'update', db, name, before._id, before, res.doc)
    }
    const value = cmd.new === true ? rec.doc : before
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: project(proj, value, filter), ok: 1 }
  }
  if (cmd.upsert === true && !remove) {
    const doc = upsertDoc(filter, u as Doc | Doc[], cmd.arrayFilters as Doc[] | undefined)
    const coll = e.catalogue.getCollection(db, name, true) as Collection
    const inserted = coll.insert(doc)
    e.record('insert', db, name, inserted.doc._id, undefined, inserted.doc)
    return {
      lastErrorObject: { n: 1, updatedExisting: false, upserted: inserted.doc._id },
      value: cmd.new === true ? project(proj, inserted.doc, filter) : null,
      ok: 1,
    }
  }
  return { lastErrorObject: remove ? { n: 0 } : { n: 0, updatedExisting: false }, value: null, ok: 1 }
}

export const findAndModifyHandlers: Record<string, Handler> = {
  findAndModify,
  findandmodify: findAndModify,
}
