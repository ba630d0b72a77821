// The insert command: https://www.mongodb.com/docs/manual/reference/command/insert/
import type { Collection } from '../collection.js'
import { MongoServerFault } from '../errors.js'
import type { Doc } from '../values.js'
import { checkStorable, type Handler } from './common.js'

export const insertHandlers: Record<string, Handler> = {
  insert: (e, db, cmd) => {
    const name = String(cmd.insert)
    const docs = (cmd.documents as Doc[] | undefined) ?? []
    const ordered = cmd.ordered !== false
    const c = e.catalogue.getCollection(db, name, true) as Collection
    let n = 0
    const writeErrors: Doc[] = []
    for (let i = 0; i < docs.length; i++) {
      try {
        checkStorable(docs[i])
        const rec = c.insert(docs[i])
        e.record('insert', db, name, rec.doc._id, undefined, rec.doc)
        n++
      } catch (err) {
        if (!(err instanceof MongoServerFault)) throw err
        writeErrors.push(err.toWriteError(i))
        if (ordered) break
      }
    }
    const r: Doc = { n, ok: 1 }
    if (writeErrors.length > 0) r.writeErrors = writeErrors
    return r
  },
}
