// The aggregate command: mingo runs the pipeline after a leading $match answered by the indexes.
import { Aggregator } from 'mingo'
import { batchSizeOf } from '../cursors.js'
import { fault, MongoServerFault } from '../errors.js'
import { toMingo } from '../filter.js'
import { clone, isPlainObject, normalize, type Doc } from '../values.js'
import { openStream } from '../streams.js'
import { select, type Handler } from './common.js'

export const aggregateHandlers: Record<string, Handler> = {
  aggregate: (e, db, cmd) => {
    const pipeline = (cmd.pipeline as Doc[] | undefined) ?? []
    if (!Array.isArray(pipeline)) throw fault(14, "'pipeline' option must be specified as an array")
    if (cmd.explain === true) throw fault(115, 'explain is not supported by the embedded server')
    for (const [i, st] of pipeline.entries()) {
      const op = Object.keys(st)[0]
      if (op === '$out' || op === '$merge') throw fault(115, `${op} is not supported by the embedded server`)
      if (op === '$changeStream') {
        if (e.history === undefined) throw fault(40573, 'The $changeStream stage is only supported on replica sets')
        if (i > 0) throw fault(40602, '$changeStream is only valid as the first stage in a pipeline')
        return openStream(e, db, cmd)
      }
    }
    const collName = cmd.aggregate
    let input: Doc[]
    let rest = pipeline
    const ns = typeof collName === 'string' ? `${db}.${collName}` : `${db}.$cmd.aggregate`
    if (typeof collName === 'string') {
      const c = e.catalogue.getCollection(db, collName, false)
      let filter: Doc | undefined
      if (pipeline.length > 0 && isPlainObject(pipeline[0].$match)) {
        filter = pipeline[0].$match as Doc
        rest = pipeline.slice(1)
      }
      input = c === undefined ? [] : select(c, filter, undefined, 0, 0).map((r) => r.doc)
    } else {
      input = []
    }
    let out: Doc[]
    if (rest.length === 0) {
      out = input
    } else {
      const resolver = (name: string): Doc[] => {
        const c = e.catalogue.getCollection(db, name, false)
        return c === undefined ? [] : [...c.byId.values()].map((r) => toMingo(r.doc) as Doc)
      }
      try {
        const res = new Aggregator(rest, { collectionResolver: resolver }).run(input.map((d) => toMingo(d) as Doc))
        out = res.map((d) => normalize(clone(d)) as Doc)
      } catch (err) {
        if (err instanceof MongoServerFault) throw err
        throw fault(168, err instanceof Error ? err.message : String(err))
      }
    }
    return e.cursors.reply(ns, out, batchSizeOf(cmd.cursor), false)
  },
}
