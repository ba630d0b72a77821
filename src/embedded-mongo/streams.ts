// Change streams: `aggregate` with a leading `$changeStream`, served from the change history.
// https://www.mongodb.com/docs/manual/changeStreams/ and
// https://www.mongodb.com/docs/manual/reference/change-events/ for the event shapes.
import { Aggregator } from 'mingo'
import { Long } from 'bson'
import type { Engine } from './commands.js'
import { fault, MongoServerFault } from './errors.js'
import { compileFilter, toMingo, type Matcher } from './filter.js'
import { decodeToken, encodeToken, fromTimestamp, toTimestamp, type Change, type OpTime } from './replication.js'
import { bsonType, clone, hashValue, isPlainObject, normalize, toNumber, valuesEqual, type Doc } from './values.js'

const STAGES_ALLOWED = new Set(['$match', '$project', '$addFields', '$set', '$unset', '$replaceRoot', '$replaceWith', '$redact'])
const OPTIONS = new Set(['fullDocument', 'fullDocumentBeforeChange', 'resumeAfter', 'startAfter', 'startAtOperationTime', 'allChangesForCluster', 'showExpandedEvents'])
const INTERNAL_DBS = new Set(['admin', 'config', 'local'])
/** mongod's default wait for an awaitData getMore without maxTimeMS. */
const DEFAULT_AWAIT_MS = 1000
const MAX_EVENTS_PER_BATCH = 10000

export interface StreamCursor {
  id: Long
  ns: string
  /** undefined db = the whole cluster; undefined coll = a whole database. */
  db: string | undefined
  coll: string | undefined
  lookup: boolean
  /** Position: every change with ts > pos is still to be read. */
  pos: OpTime
  pipeline: Array<{ match: Matcher } | { agg: Aggregator }>
  /** The change that ended this stream: its invalidate event is the next thing to return. */
  invalidateAt: OpTime | undefined
  finished: boolean
  lastUsed: number
}

/** Opens a change stream; answers like any aggregate, with the events already available. */
export function openStream(e: Engine, db: string, cmd: Doc): Doc {
  const log = e.history
  if (log === undefined) throw fault(40573, 'The $changeStream stage is only supported on replica sets')
  const pipeline = cmd.pipeline as Doc[]
  const spec = pipeline[0].$changeStream
  if (!isPlainObject(spec)) throw fault(14, "the $changeStream stage must be specified as an object, got a non-object")
  for (const k of Object.keys(spec)) if (!OPTIONS.has(k)) throw fault(40415, `BSON field '$changeStream.${k}' is an unknown field.`)
  const fullDocument = spec.fullDocument ?? 'default'
  if (fullDocument !== 'default' && fullDocument !== 'updateLookup') {
    if (fullDocument === 'whenAvailable' || fullDocument === 'required') {
      throw fault(72, `fullDocument: '${fullDocument}' needs post-images (changeStreamPreAndPostImages), which the embedded server does not keep`)
    }
    throw fault(2, `unknown fullDocument: '${String(fullDocument)}'`)
  }
  const before = spec.fullDocumentBeforeChange ?? 'off'
  if (before !== 'off') throw fault(72, 'fullDocumentBeforeChange needs pre-images (changeStreamPreAndPostImages), which the embedded server does not keep')
  const resumeOpts = ['resumeAfter', 'startAfter', 'startAtOperationTime'].filter((k) => spec[k] !== undefined)
  if (resumeOpts.length > 1) throw fault(40674, 'Only one type of resume option is allowed, but multiple were found.')

  let sdb: string | undefined = db
  let scoll: string | undefined
  if (typeof cmd.aggregate === 'string') {
    scoll = cmd.aggregate
    if (spec.allChangesForCluster === true) throw fault(ERR_CLUSTER_ON_ADMIN, "A change stream with 'allChangesForCluster: true' may only be opened on the 'admin' database, and with no collection name")
  } else if (toNumber(cmd.aggregate) === 1) {
    if (spec.allChangesForCluster === true) {
      if (db !== 'admin') throw fault(ERR_CLUSTER_ON_ADMIN, "A change stream with 'allChangesForCluster: true' may only be opened on the 'admin' database, and with no collection name")
      sdb = undefined
    } else if (INTERNAL_DBS.has(db)) {
      throw fault(73, `$changeStream may not be opened on the internal ${db} database`)
    }
  } else {
    throw fault(73, 'aggregate: the namespace must be a collection name or 1')
  }
  if (sdb !== undefined && INTERNAL_DBS.has(sdb) && scoll !== undefined) throw fault(73, `$changeStream may not be opened on the internal ${sdb} database`)

  const stages: StreamCursor['pipeline'] = []
  for (let i = 1; i < pipeline.length; i++) {
    const st = pipeline[i]
    const op = Object.keys(st)[0]
    if (op === '$changeStream') throw fault(40602, '$changeStream is only valid as the first stage in a pipeline')
    if (!STAGES_ALLOWED.has(op)) throw fault(20, `${op} is not permitted in a $changeStream pipeline`)
    if (op === '$match') stages.push({ match: compileFilter(st.$match as Doc) })
    else stages.push({ agg: new Aggregator([st]) })
  }

  let pos = e.clock.current
  if (spec.resumeAfter !== undefined || spec.startAfter !== undefined) {
    const tok = decodeToken(spec.resumeAfter ?? spec.startAfter)
    if (tok.invalidate && spec.resumeAfter !== undefined) {
      throw fault(260, "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.")
    }
    pos = tok.ts
  } else if (spec.startAtOperationTime !== undefined) {
    const t = fromTimestamp(spec.startAtOperationTime)
    if (t === undefined) throw fault(14, "BSON field '$changeStream.startAtOperationTime' is the wrong type, expected type 'timestamp'")
    pos = t - 1
  }
  // Resuming from before the oldest change kept: the history between is gone, as when an oplog rolls over.
  if (pos < log.lostUpTo) {
    throw fault(286, 'Resume of change stream was not possible, as the resume point may no longer be in the oplog.')
  }
  const ns = sdb === undefined ? 'admin.$cmd.aggregate' : scoll === undefined ? `${sdb}.$cmd.aggregate` : `${sdb}.${scoll}`
  const cur: StreamCursor = {
    id: e.cursors.newId(), ns, db: sdb, coll: scoll, lookup: fullDocument === 'updateLookup', pos, pipeline: stages,
    invalidateAt: undefined, finished: false, lastUsed: Date.now(),
  }
  const batchSize = isPlainObject(cmd.cursor) ? toNumber(cmd.cursor.batchSize) : undefined
  const { events, token } = collect(e, cur, batchSize ?? 101)
  let id = cur.id
  if (cur.finished) id = Long.ZERO
  else e.streams.set(cur.id.toString(), cur)
  return { cursor: { firstBatch: events, postBatchResumeToken: token, id, ns }, ok: 1 }
}

const ERR_CLUSTER_ON_ADMIN = 73

/** A getMore on a change stream: waits (without blocking) up to maxTimeMS for an event. */
export function streamGetMore(e: Engine, cur: StreamCursor, cmd: Doc): Doc | Promise<Doc> {
  cur.lastUsed = Date.now()
  const limit = toNumber(cmd.batchSize) ?? MAX_EVENTS_PER_BATCH
  const first = collect(e, cur, limit)
  if (first.events.length > 0 || cur.finished) return batchReply(e, cur, first)
  const waitMs = toNumber(cmd.maxTimeMS) ?? DEFAULT_AWAIT_MS
  if (waitMs <= 0) return batchReply(e, cur, first)
  return new Promise<Doc>((resolve) => {
    const done = (): void => {
      e.waiters.delete(waiter)
      clearTimeout(timer)
    }
    const waiter = (): void => {
      // Killed while waiting (killCursors, a drop): answer with what there is.
      try {
        const got = collect(e, cur, limit)
        if (got.events.length > 0 || cur.finished) { done(); resolve(batchReply(e, cur, got)) }
      } catch (err) {
        done()
        resolve(err instanceof MongoServerFault ? err.toReply() : { ok: 0, errmsg: String(err), code: 1, codeName: 'InternalError' })
      }
    }
    const timer = setTimeout(() => {
      done()
      resolve(batchReply(e, cur, collect(e, cur, limit)))
    }, waitMs)
    e.waiters.add(waiter)
  })
}

function batchReply(e: Engine, cur: StreamCursor, got: { events: Doc[]; token: Doc }): Doc {
  cur.lastUsed = Date.now()
  let id = cur.id
  if (cur.finished) {
    e.streams.delete(cur.id.toString())
    id = Long.ZERO
  }
  return { cursor: { nextBatch: got.events, postBatchResumeToken: got.token, id, ns: cur.ns }, ok: 1 }
}

/** Reads up to `limit` events after the cursor's position and advances it. */
function collect(e: Engine, cur: StreamCursor, limit: number): { events: Doc[]; token: Doc } {
  const log = e.history
  const events: Doc[] = []
  if (log === undefined || cur.finished) return { events, token: encodeToken(cur.pos) }
  if (cur.pos < log.lostUpTo) {
    // The reader fell behind the bounded history while it was open.
    throw fault(286, 'Resume of change stream was not possible, as the resume point may no longer be in the oplog.')
  }
  let lastToken: Doc | undefined
  if (cur.invalidateAt === undefined) {
    for (let i = log.indexAfter(cur.pos); i < log.count && events.length < limit; i++) {
      const c = log.at(i)
      cur.pos = c.ts
      if (!inScope(cur, c)) continue
      const ev = eventOf(e, cur, c)
      if (ev !== undefined) {
        const out = applyPipeline(cur, ev)
        if (out !== undefined) {
          events.push(out)
          lastToken = ev._id as Doc
        }
      }
      if (endsStream(cur, c)) {
        cur.invalidateAt = c.ts
        break
      }
    }
  }
  if (cur.invalidateAt !== undefined && events.length < limit) {
    const t = cur.invalidateAt
    const ev: Doc = { _id: encodeToken(t, true), operationType: 'invalidate', clusterTime: toTimestamp(t), wallTime: new Date() }
    const out = applyPipeline(cur, ev)
    if (out !== undefined) events.push(out)
    cur.finished = true
    return { events, token: ev._id as Doc }
  }
  // Caught up: the high-water mark is the latest cluster time, so a resume skips what was scanned.
  const caughtUp = log.count === 0 || log.tsAt(log.count - 1) <= cur.pos
  if (caughtUp && e.clock.current > cur.pos) cur.pos = e.clock.current
  return { events, token: caughtUp || lastToken === undefined ? encodeToken(cur.pos) : lastToken }
}

function inScope(cur: StreamCursor, c: Change): boolean {
  if (cur.db === undefined) return !INTERNAL_DBS.has(c.db) && !(c.coll?.startsWith('system.') ?? false)
  if (c.db !== cur.db) return false
  if (cur.coll === undefined) return c.op === 'dropDatabase' || !(c.coll?.startsWith('system.') ?? false)
  return c.coll === cur.coll || c.op === 'dropDatabase'
}

/** Drop, rename and dropDatabase end a collection stream; dropDatabase ends a database stream. */
function endsStream(cur: StreamCursor, c: Change): boolean {
  if (cur.db === undefined) return false
  if (cur.coll === undefined) return c.op === 'dropDatabase'
  return c.op === 'drop' || c.op === 'rename' || c.op === 'dropDatabase'
}

function eventOf(e: Engine, cur: StreamCursor, c: Change): Doc | undefined {
  // A collection stream sees the drops that precede dropDatabase, not dropDatabase itself.
  if (c.op === 'dropDatabase' && cur.coll !== undefined) return undefined
  const ev: Doc = { _id: encodeToken(c.ts), operationType: c.op, clusterTime: toTimestamp(c.ts), wallTime: new Date(c.wall) }
  switch (c.op) {
    case 'insert':
    case 'replace':
      ev.fullDocument = c.after
      break
    case 'update':
      if (cur.lookup) ev.fullDocument = lookup(e, c)
      break
    default:
      break
  }
  ev.ns = c.coll === undefined ? { db: c.db } : { db: c.db, coll: c.coll }
  if (c.op === 'rename' && c.to !== undefined) ev.to = c.to
  if (c.id !== undefined) ev.documentKey = { _id: c.id }
  const desc = c.description(describeUpdate)
  if (desc !== undefined) ev.updateDescription = desc
  return ev
}

/** updateLookup: the document as it is now (null if it is gone). */
function lookup(e: Engine, c: Change): Doc | null {
  const coll = e.catalogue.getCollection(c.db, c.coll ?? '', false)
  return coll?.byId.get(hashValue(c.id))?.doc ?? null
}

function applyPipeline(cur: StreamCursor, ev: Doc): Doc | undefined {
  let doc: Doc = ev
  for (const st of cur.pipeline) {
    if ('match' in st) {
      if (!st.match(doc)) return undefined
      continue
    }
    let res: Doc[]
    try {
      res = st.agg.run([toMingo(doc) as Doc]) as Doc[]
    } catch (err) {
      throw fault(168, err instanceof Error ? err.message : String(err))
    }
    if (res.length === 0) return undefined
    doc = normalize(clone(res[0])) as Doc
  }
  if (doc !== ev && !valuesEqual(doc._id, ev._id)) {
    throw fault(280, "Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that point. Only transformations that retain the unmodified _id field are allowed.")
  }
  return doc
}

/**
 * updateDescription from the stored documents before and after: changed fields by dotted path
 * (into sub-documents and array elements), removed fields, and arrays that got shorter.
 */
export function describeUpdate(before: Doc, after: Doc): Doc {
  const d: UpdateDescription = { updatedFields: {}, removedFields: [], truncatedArrays: [] }
  diffObj(d, before, after, '')
  return d
}

interface UpdateDescription { updatedFields: Doc; removedFields: string[]; truncatedArrays: Doc[] }

function diffObj(d: UpdateDescription, a: Doc, b: Doc, prefix: string): void {
  for (const k of Object.keys(a)) if (!(k in b)) d.removedFields.push(prefix + k)
  for (const k of Object.keys(b)) {
    const path = prefix + k
    if (!(k in a)) { d.updatedFields[path] = b[k]; continue }
    diffVal(d, a[k], b[k], path)
  }
}

function diffVal(d: UpdateDescription, x: unknown, y: unknown, path: string): void {
  if (isPlainObject(x) && isPlainObject(y)) { diffObj(d, x, y, path + '.'); return }
  if (Array.isArray(x) && Array.isArray(y)) {
    if (y.length < x.length) d.truncatedArrays.push({ field: path, newSize: y.length })
    for (let i = 0; i < y.length; i++) {
      if (i >= x.length) d.updatedFields[`${path}.${i}`] = y[i]
      else diffVal(d, x[i], y[i], `${path}.${i}`)
    }
    return
  }
  if (!sameValue(x, y)) d.updatedFields[path] = y
}

function sameValue(x: unknown, y: unknown): boolean {
  return x === y || (typeof x === typeof y && bsonType(x) === bsonType(y) && valuesEqual(x, y))
}
