// The delete command: https://www.mongodb.com/docs/manual/reference/command/delete/
import type { Rec } from '../collection.js'
import { MongoServerFault } from '../errors.js'
import { compileFilter } from '../filter.js'
import { toNumber, type Doc } from '../values.js'
import type { Handler } from './common.js'

export const deleteHandlers: Record<string, Handler> = {
  delete: (e, db, cmd) => {
    const name = String(cmd.delete)
    const dels = (cmd.deletes as Doc[] | undefined) ?? []
    const c = e.catalogue.getCollection(db, name, false)
    let n = 0
    const writeErrors: Doc[] = []
    for (let i = 0; i < dels.length; i++) {
      try {
        const q = (dels[i].q as Doc | undefined) ?? {}
        const limit = toNumber(dels[i].limit) ?? 0
        const m = compileFilter(q)
        if (c === undefined) continue
        const doomed: Rec[] = []
        for (const r of c.scan(q)) {
          if (!m(r.doc)) continue
          doomed.push(r)
          if (limit === 1) break
        }
        for (const r of doomed) {
          c.remove(r)
          e.record('delete', db, name, r.doc._id)
        }
        n += doomed.length
      } catch (err) {
        if (!(err instanceof MongoServerFault)) throw err
        writeErrors.push(err.toWriteError(i))
        if (cmd.ordered !== false) break
      }
    }
    const r: Doc = { n, ok: 1 }
    if (writeErrors.length > 0) r.writeErrors = writeErrors
    return r
  },
}
