// The command layer: every command runs synchronously from start to finish, so a command's
// reads and writes can never interleave with another client's (single-document atomicity and
// isolation, as MongoDB promises: https://www.mongodb.com/docs/manual/core/write-operations-atomicity/).
import { Aggregator } from 'mingo'
import { calculateObjectSize, Long, type Document } from 'bson'
import { Collection, defaultIndexName, type IndexSpec, type Rec } from './collection.js'
import { fault, MongoServerFault } from './errors.js'
import { compileFilter, toMingo } from './filter.js'
import { compileProjection, compileSort, topK, type Projector } from './query-exec.js'
import { applyUpdate, isOperatorUpdate, upsertBase, validateUpdate } from './update.js'
import { clone, hashValue, isPlainObject, normalize, toNumber, valuesEqual, type Doc } from './values.js'

const MAX_BSON = 16 * 1024 * 1024
const MAX_MESSAGE = 48000000
const MAX_BATCH = 100000
const DEFAULT_FIRST_BATCH = 101

interface Cursor {
  id: Long
  ns: string
  docs: Doc[]
  pos: number
  lastUsed: number
}

// MongoDB closes idle cursors after 10 minutes (cursorTimeoutMillis); so do we, so abandoned
// cursors do not pin their result sets in memory forever.
const CURSOR_TIMEOUT_MS = 10 * 60 * 1000
// A getMore without batchSize returns up to ~16 MB, like MongoDB, to stay under maxMessageSizeBytes.
const GETMORE_MAX_BYTES = MAX_BSON

export interface ConnectionInfo {
  id: number
}

type Handler = (db: string, cmd: Doc, conn: ConnectionInfo) => Doc

export class Engine {
  private readonly dbs = new Map<string, Map<string, Collection>>()
  private readonly cursors = new Map<string, Cursor>()
  private nextCursor = 1000n
  private readonly startedAt = Date.now()
  private ttlTimer: NodeJS.Timeout | undefined
  connections = 0

  startTtlMonitor(intervalMs = 1000): void {
    // MongoDB's TTL monitor runs every 60 s; checking every second keeps tests and holds snappy.
    this.ttlTimer = setInterval(() => {
      this.expireTtl()
      this.expireCursors()
    }, intervalMs)
    this.ttlTimer.unref()
  }

  stop(): void {
    if (this.ttlTimer !== undefined) clearInterval(this.ttlTimer)
    this.ttlTimer = undefined
  }

  expireCursors(now = Date.now()): void {
    for (const [k, c] of this.cursors) if (now - c.lastUsed > CURSOR_TIMEOUT_MS) this.cursors.delete(k)
  }

  /** Deletes documents whose TTL-indexed date is older than expireAfterSeconds. */
  expireTtl(now = Date.now()): number {
    let removed = 0
    for (const colls of this.dbs.values()) {
      for (const c of colls.values()) {
        for (const ix of c.indexes) {
          const secs = ix.spec.expireAfterSeconds
          if (secs === undefined || ix.fields.length !== 1) continue
          const field = ix.fields[0]
          const limit = now - secs * 1000
          const doomed: Rec[] = []
          for (const rec of c.byId.values()) {
            const v = rec.doc[field]
            // https://www.mongodb.com/docs/manual/core/index-ttl/ — an array of dates expires by its earliest date.
            const dates = (Array.isArray(v) ? v : [v]).filter((x): x is Date => x instanceof Date)
            if (dates.length === 0) continue
            const earliest = Math.min(...dates.map((d) => d.getTime()))
            if (earliest <= limit) doomed.push(rec)
          }
          for (const r of doomed) c.remove(r)
          removed += doomed.length
        }
      }
    }
    return removed
  }

  private getDb(db: string, create: boolean): Map<string, Collection> | undefined {
    let m = this.dbs.get(db)
    if (m === undefined && create) {
      m = new Map()
      this.dbs.set(db, m)
    }
    return m
  }

  getCollection(db: string, name: string, create: boolean): Collection | undefined {
    const m = this.getDb(db, create)
    if (m === undefined) return undefined
    let c = m.get(name)
    if (c === undefined && create) {
      validateCollectionName(db, name)
      c = new Collection(db, name)
      m.set(name, c)
    }
    return c
  }

  run(db: string, cmd: Doc, conn: ConnectionInfo): Doc {
    try {
      const name = Object.keys(cmd)[0]
      if (name === undefined) throw fault(59, 'no such command: \'\'')
      if ('txnNumber' in cmd || 'startTransaction' in cmd || 'autocommit' in cmd) {
        // What a real standalone mongod answers: https://www.mongodb.com/docs/manual/core/transactions/
        throw fault(20, 'Transaction numbers are only allowed on a replica set member or mongos')
      }
      const h = this.handlers[name] ?? this.handlers[name.toLowerCase()]
      if (h === undefined) throw fault(59, `no such command: '${name}'`)
      return h(db, cmd, conn)
    } catch (e) {
      if (e instanceof MongoServerFault) return e.toReply()
      const msg = e instanceof Error ? e.message : String(e)
      return { ok: 0, errmsg: msg, code: 1, codeName: 'InternalError' }
    }
  }

  private hello(_db: string, cmd: Doc, conn: ConnectionInfo, legacy: boolean): Doc {
    const r: Doc = {}
    if (cmd.helloOk === true) r.helloOk = true
    if (legacy) r.ismaster = true
    else r.isWritablePrimary = true
    Object.assign(r, {
      maxBsonObjectSize: MAX_BSON,
      maxMessageSizeBytes: MAX_MESSAGE,
      maxWriteBatchSize: MAX_BATCH,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: conn.id,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    })
    // No `compression` field: compression is never negotiated, so OP_COMPRESSED never arrives.
    return r
  }

  private readonly handlers: Record<string, Handler> = {
    hello: (db, cmd, conn) => this.hello(db, cmd, conn, false),
    isMaster: (db, cmd, conn) => this.hello(db, cmd, conn, true),
    ismaster: (db, cmd, conn) => this.hello(db, cmd, conn, true),
    ping: () => ({ ok: 1 }),
    buildInfo: () => ({
      version: '7.0.0', gitVersion: 'embedded', versionArray: [7, 0, 0, 0], bits: 64, debug: false,
      maxBsonObjectSize: MAX_BSON, storageEngines: ['embedded'], modules: [], ok: 1,
    }),
    buildinfo: (db, cmd, conn) => this.handlers.buildInfo(db, cmd, conn),
    getParameter: (_db, cmd) => {
      const known: Doc = { featureCompatibilityVersion: { version: '7.0' }, authenticationMechanisms: [], logLevel: 0 }
      const out: Doc = {}
      if (cmd.getParameter === '*') Object.assign(out, known)
      for (const k of Object.keys(cmd)) if (k in known) out[k] = known[k]
      return { ...out, ok: 1 }
    },
    getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
    hostInfo: () => ({ system: { currentTime: new Date(), hostname: 'embedded', cpuAddrSize: 64, numCores: 1 }, os: { type: process.platform }, extra: {}, ok: 1 }),
    getCmdLineOpts: () => ({ argv: ['embedded-mongo'], parsed: {}, ok: 1 }),
    whatsmyuri: () => ({ you: '127.0.0.1:0', ok: 1 }),
    connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
    serverStatus: () => ({
      host: 'embedded', version: '7.0.0', process: 'mongod', pid: Long.fromNumber(process.pid),
      uptime: (Date.now() - this.startedAt) / 1000, localTime: new Date(),
      connections: { current: this.connections, available: 1000000 }, ok: 1,
    }),
    listDatabases: (_db, cmd) => {
      const dbs = [...this.dbs.entries()].filter(([, m]) => m.size > 0).map(([name, m]) => ({
        name, sizeOnDisk: [...m.values()].reduce((a, c) => a + c.size * 100, 0), empty: false,
      }))
      const filtered = cmd.filter ? dbs.filter((d) => compileFilter(cmd.filter as Doc)(d)) : dbs
      if (cmd.nameOnly === true) return { databases: filtered.map((d) => ({ name: d.name })), ok: 1 }
      return { databases: filtered, totalSize: filtered.reduce((a, d) => a + d.sizeOnDisk, 0), ok: 1 }
    },
    listCollections: (db, cmd) => {
      const m = this.getDb(db, false)
      const entries: Doc[] = [...(m?.values() ?? [])].map((c) => cmd.nameOnly === true
        ? { name: c.name, type: 'collection' }
        : { name: c.name, type: 'collection', options: c.options, info: { readOnly: false }, idIndex: c.idIndexSpec() })
      const f = cmd.filter ? compileFilter(cmd.filter as Doc) : undefined
      const docs = f ? entries.filter((e) => f(e)) : entries
      return this.cursorReply(`${db}.$cmd.listCollections`, docs, batchSizeOf(cmd.cursor), false)
    },
    create: (db, cmd) => {
      const name = String(cmd.create)
      if (this.getDb(db, false)?.has(name)) throw fault(48, `Collection ${db}.${name} already exists.`)
      if (cmd.viewOn !== undefined) throw fault(115, 'views are not supported by the embedded server')
      const opts: Doc = {}
      for (const k of Object.keys(cmd)) if (!['create', '$db', 'lsid', 'writeConcern', '$readPreference', 'comment'].includes(k)) opts[k] = cmd[k]
      validateCollectionName(db, name)
      this.getDb(db, true)?.set(name, new Collection(db, name, opts))
      return { ok: 1 }
    },
    drop: (db, cmd) => {
      const m = this.getDb(db, false)
      const name = String(cmd.drop)
      const c = m?.get(name)
      if (c === undefined) {
        // MongoDB 7.0+ answers ok for a missing collection (older servers: code 26 "ns not found").
        return { ok: 1 }
      }
      m?.delete(name)
      this.dropCursorsFor(`${db}.${name}`)
      return { nIndexesWas: c.indexes.length + 1, ns: `${db}.${name}`, ok: 1 }
    },
    dropDatabase: (db) => {
      this.dbs.delete(db)
      return { dropped: db, ok: 1 }
    },
    insert: (db, cmd) => this.insert(db, cmd),
    find: (db, cmd) => this.find(db, cmd),
    getMore: (db, cmd) => this.getMore(db, cmd),
    killCursors: (db, cmd) => {
      const killed: Long[] = []
      const notFound: Long[] = []
      for (const id of (cmd.cursors as unknown[]) ?? []) {
        const key = String(id)
        if (this.cursors.delete(key)) killed.push(asLong(id))
        else notFound.push(asLong(id))
      }
      return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 }
    },
    update: (db, cmd) => this.update(db, cmd),
    delete: (db, cmd) => this.delete(db, cmd),
    findAndModify: (db, cmd) => this.findAndModify(db, cmd),
    findandmodify: (db, cmd) => this.findAndModify(db, cmd),
    count: (db, cmd) => {
      const c = this.getCollection(db, String(cmd.count), false)
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
    distinct: (db, cmd) => {
      const c = this.getCollection(db, String(cmd.distinct), false)
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
    aggregate: (db, cmd) => this.aggregate(db, cmd),
    createIndexes: (db, cmd) => this.createIndexes(db, cmd),
    listIndexes: (db, cmd) => {
      const c = this.getCollection(db, String(cmd.listIndexes), false)
      if (c === undefined) throw fault(26, `ns does not exist: ${db}.${String(cmd.listIndexes)}`)
      const docs = [c.idIndexSpec(), ...c.indexes.map((ix) => indexDoc(ix.spec))]
      return this.cursorReply(`${db}.${c.name}`, docs, batchSizeOf(cmd.cursor), false)
    },
    dropIndexes: (db, cmd) => this.dropIndexes(db, cmd),
    deleteIndexes: (db, cmd) => this.dropIndexes(db, { ...cmd, dropIndexes: cmd.deleteIndexes }),
    endSessions: () => ({ ok: 1 }),
    killAllSessions: () => ({ ok: 1 }),
    killSessions: () => ({ ok: 1 }),
    refreshSessions: () => ({ ok: 1 }),
    startSession: () => ({ id: { id: null }, timeoutMinutes: 30, ok: 1 }),
    abortTransaction: () => { throw fault(20, 'Transaction numbers are only allowed on a replica set member or mongos') },
    commitTransaction: () => { throw fault(20, 'Transaction numbers are only allowed on a replica set member or mongos') },
    collStats: (db, cmd) => {
      const c = this.getCollection(db, String(cmd.collStats), false)
      if (c === undefined) throw fault(26, `Collection [${db}.${String(cmd.collStats)}] not found.`)
      return { ns: `${db}.${c.name}`, count: c.size, size: c.size * 100, avgObjSize: 100, storageSize: c.size * 100, nindexes: c.indexes.length + 1, totalIndexSize: 0, indexSizes: {}, ok: 1 }
    },
    dbStats: (db) => {
      const m = this.getDb(db, false)
      const objects = [...(m?.values() ?? [])].reduce((a, c) => a + c.size, 0)
      return { db, collections: m?.size ?? 0, views: 0, objects, avgObjSize: 100, dataSize: objects * 100, storageSize: objects * 100, indexes: 0, indexSize: 0, ok: 1 }
    },
    renameCollection: (_db, cmd) => {
      const from = String(cmd.renameCollection)
      const to = String(cmd.to)
      const [fdb, ...fr] = from.split('.')
      const [tdb, ...tr] = to.split('.')
      const fname = fr.join('.')
      const tname = tr.join('.')
      if (fdb !== tdb) throw fault(115, 'renameCollection across databases is not supported by the embedded server')
      const m = this.getDb(fdb, false)
      const c = m?.get(fname)
      if (m === undefined || c === undefined) throw fault(26, 'source namespace does not exist')
      if (m.has(tname)) {
        if (cmd.dropTarget !== true) throw fault(48, 'target namespace exists')
        m.delete(tname)
      }
      m.delete(fname)
      c.name = tname
      m.set(tname, c)
      return { ok: 1 }
    },
    saslStart: () => { throw fault(115, 'authentication is not supported by the embedded server') },
  }

  private dropCursorsFor(ns: string): void {
    for (const [k, c] of this.cursors) if (c.ns === ns) this.cursors.delete(k)
  }

  private cursorReply(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch: boolean): Doc {
    const n = batchSize === undefined ? DEFAULT_FIRST_BATCH : batchSize
    const first = docs.slice(0, n)
    let id = Long.ZERO
    if (!singleBatch && docs.length > first.length) {
      id = Long.fromBigInt(this.nextCursor++)
      this.cursors.set(id.toString(), { id, ns, docs, pos: first.length, lastUsed: Date.now() })
    }
    return { cursor: { firstBatch: first, id, ns }, ok: 1 }
  }

  private getMore(db: string, cmd: Doc): Doc {
    const key = String(cmd.getMore)
    const c = this.cursors.get(key)
    if (c === undefined) throw fault(43, `cursor id ${key} not found`)
    const bs = toNumber(cmd.batchSize)
    let n = bs === undefined || bs <= 0 ? c.docs.length : bs
    if (bs === undefined || bs <= 0) {
      let bytes = 0
      for (let i = c.pos; i < c.docs.length; i++) {
        bytes += calculateObjectSize(c.docs[i])
        if (bytes > GETMORE_MAX_BYTES && i > c.pos) { n = i - c.pos; break }
      }
    }
    c.lastUsed = Date.now()
    const batch = c.docs.slice(c.pos, c.pos + n)
    c.pos += batch.length
    let id = c.id
    if (c.pos >= c.docs.length) {
      this.cursors.delete(key)
      id = Long.ZERO
    }
    void db
    return { cursor: { nextBatch: batch, id, ns: c.ns }, ok: 1 }
  }

  /** Matching records in natural order (or top-k sorted when sort+limit are given). */
  private select(c: Collection | undefined, filter: Doc | undefined, sort: Doc | undefined, skip: number, limit: number): Rec[] {
    const m = compileFilter(filter)
    const cmp = compileSort(sort)
    if (c === undefined) return []
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

  private find(db: string, cmd: Doc): Doc {
    const name = String(cmd.find)
    const c = this.getCollection(db, name, false)
    const rawLimit = toNumber(cmd.limit) ?? 0
    const limit = Math.abs(rawLimit)
    const skip = toNumber(cmd.skip) ?? 0
    if (skip < 0) throw fault(51024, "BSON field 'skip' value must be >= 0, actual value '" + skip + "'")
    const filter = cmd.filter as Doc | undefined
    const recs = this.select(c, filter, cmd.sort as Doc | undefined, skip, limit)
    const proj = compileProjection(cmd.projection as Doc | undefined)
    const docs = recs.map((r) => project(proj, r.doc, filter))
    const singleBatch = cmd.singleBatch === true || rawLimit < 0
    return this.cursorReply(`${db}.${name}`, docs, toNumber(cmd.batchSize), singleBatch)
  }

  private insert(db: string, cmd: Doc): Doc {
    const name = String(cmd.insert)
    const docs = (cmd.documents as Doc[] | undefined) ?? []
    const ordered = cmd.ordered !== false
    const c = this.getCollection(db, name, true) as Collection
    let n = 0
    const writeErrors: Doc[] = []
    for (let i = 0; i < docs.length; i++) {
      try {
        checkStorable(docs[i])
        c.insert(docs[i])
        n++
      } catch (e) {
        if (!(e instanceof MongoServerFault)) throw e
        writeErrors.push(e.toWriteError(i))
        if (ordered) break
      }
    }
    const r: Doc = { n, ok: 1 }
    if (writeErrors.length > 0) r.writeErrors = writeErrors
    return r
  }

  private update(db: string, cmd: Doc): Doc {
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
        const res = this.updateOne(db, name, u.q as Doc, u.u as Doc | Doc[], {
          multi: u.multi === true, upsert: u.upsert === true, arrayFilters: u.arrayFilters as Doc[] | undefined,
        })
        n += res.n
        nModified += res.modified
        if (res.upsertedId !== undefined) upserted.push({ index: i, _id: res.upsertedId })
      } catch (e) {
        if (!(e instanceof MongoServerFault)) throw e
        writeErrors.push(e.toWriteError(i))
        if (ordered) break
      }
    }
    const r: Doc = { n, nModified, ok: 1 }
    if (upserted.length > 0) r.upserted = upserted
    if (writeErrors.length > 0) r.writeErrors = writeErrors
    return r
  }

  private updateOne(db: string, name: string, q: Doc, u: Doc | Doc[], o: { multi: boolean; upsert: boolean; arrayFilters?: Doc[] }):
    { n: number; modified: number; upsertedId?: unknown } {
    if (u === undefined || u === null) throw fault(9, "BSON field 'update.updates.u' is missing but a required field")
    validateUpdate(u)
    if (o.multi && !Array.isArray(u) && !isOperatorUpdate(u) && Object.keys(u).length > 0) {
      throw fault(9, 'multi update is not supported for replacement-style update')
    }
    const filter = q ?? {}
    const m = compileFilter(filter)
    const c = this.getCollection(db, name, false)
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
          c.replace(r, res.doc)
          modified++
        }
      }
    }
    if (n === 0 && o.upsert) {
      const doc = this.upsertDoc(filter, u, o.arrayFilters)
      const coll = this.getCollection(db, name, true) as Collection
      const rec = coll.insert(doc)
      return { n: 1, modified: 0, upsertedId: rec.doc._id }
    }
    return { n, modified }
  }

  private upsertDoc(filter: Doc, u: Doc | Doc[], arrayFilters: Doc[] | undefined): Doc {
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

  private delete(db: string, cmd: Doc): Doc {
    const name = String(cmd.delete)
    const dels = (cmd.deletes as Doc[] | undefined) ?? []
    const c = this.getCollection(db, name, false)
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
        for (const r of doomed) c.remove(r)
        n += doomed.length
      } catch (e) {
        if (!(e instanceof MongoServerFault)) throw e
        writeErrors.push(e.toWriteError(i))
        if (cmd.ordered !== false) break
      }
    }
    const r: Doc = { n, ok: 1 }
    if (writeErrors.length > 0) r.writeErrors = writeErrors
    return r
  }

  /** https://www.mongodb.com/docs/manual/reference/command/findAndModify/ */
  private findAndModify(db: string, cmd: Doc): Doc {
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
    const c = this.getCollection(db, name, false)
    const [rec] = this.select(c, filter, cmd.sort as Doc | undefined, 0, 1)
    if (rec !== undefined && c !== undefined) {
      const before = rec.doc
      if (remove) {
        c.remove(rec)
        return { lastErrorObject: { n: 1 }, value: project(proj, before, filter), ok: 1 }
      }
      const res = applyUpdate(clone(before), u as Doc | Doc[], { filter, arrayFilters: cmd.arrayFilters as Doc[] | undefined, isInsert: false })
      if (res.changed) {
        checkStorable(res.doc)
        c.replace(rec, res.doc)
      }
      const value = cmd.new === true ? rec.doc : before
      return { lastErrorObject: { n: 1, updatedExisting: true }, value: project(proj, value, filter), ok: 1 }
    }
    if (cmd.upsert === true && !remove) {
      const doc = this.upsertDoc(filter, u as Doc | Doc[], cmd.arrayFilters as Doc[] | undefined)
      const coll = this.getCollection(db, name, true) as Collection
      const inserted = coll.insert(doc)
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: inserted.doc._id },
        value: cmd.new === true ? project(proj, inserted.doc, filter) : null,
        ok: 1,
      }
    }
    return { lastErrorObject: remove ? { n: 0 } : { n: 0, updatedExisting: false }, value: null, ok: 1 }
  }

  private aggregate(db: string, cmd: Doc): Doc {
    const pipeline = (cmd.pipeline as Doc[] | undefined) ?? []
    if (!Array.isArray(pipeline)) throw fault(14, "'pipeline' option must be specified as an array")
    if (cmd.explain === true) throw fault(115, 'explain is not supported by the embedded server')
    for (const st of pipeline) {
      const op = Object.keys(st)[0]
      if (op === '$out' || op === '$merge') throw fault(115, `${op} is not supported by the embedded server`)
      if (op === '$changeStream') throw fault(40573, 'The $changeStream stage is only supported on replica sets')
    }
    const collName = cmd.aggregate
    let input: Doc[]
    let rest = pipeline
    const ns = typeof collName === 'string' ? `${db}.${collName}` : `${db}.$cmd.aggregate`
    if (typeof collName === 'string') {
      const c = this.getCollection(db, collName, false)
      let filter: Doc | undefined
      if (pipeline.length > 0 && isPlainObject(pipeline[0].$match)) {
        filter = pipeline[0].$match as Doc
        rest = pipeline.slice(1)
      }
      input = c === undefined ? [] : this.select(c, filter, undefined, 0, 0).map((r) => r.doc)
    } else {
      input = []
    }
    let out: Doc[]
    if (rest.length === 0) {
      out = input
    } else {
      const resolver = (name: string): Doc[] => {
        const c = this.getCollection(db, name, false)
        return c === undefined ? [] : [...c.byId.values()].map((r) => toMingo(r.doc) as Doc)
      }
      try {
        const res = new Aggregator(rest, { collectionResolver: resolver }).run(input.map((d) => toMingo(d) as Doc))
        out = res.map((d) => normalize(clone(d)) as Doc)
      } catch (e) {
        if (e instanceof MongoServerFault) throw e
        throw fault(168, e instanceof Error ? e.message : String(e))
      }
    }
    return this.cursorReply(ns, out, batchSizeOf(cmd.cursor), false)
  }

  private createIndexes(db: string, cmd: Doc): Doc {
    const name = String(cmd.createIndexes)
    const specs = cmd.indexes as Doc[] | undefined
    if (!Array.isArray(specs) || specs.length === 0) throw fault(2, 'Must specify at least one index to create')
    const existed = this.getCollection(db, name, false) !== undefined
    const c = this.getCollection(db, name, true) as Collection
    const before = c.indexes.length + 1
    let created = 0
    for (const s of specs) {
      const key = s.key as Doc
      if (!isPlainObject(key) || Object.keys(key).length === 0) throw fault(67, 'Index keys cannot be empty.')
      for (const k of Object.keys(key)) {
        const v = key[k]
        if (typeof v === 'string') throw fault(67, `Index type '${v}' is not supported by the embedded server (${k})`)
        const dir = toNumber(v)
        if (dir === undefined || dir === 0) throw fault(67, `Values in the index key pattern can't be 0: ${k}`)
      }
      const idxName = typeof s.name === 'string' ? s.name : defaultIndexName(key)
      const extra: Doc = {}
      for (const k of Object.keys(s)) if (!['key', 'name', 'unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'v', 'background'].includes(k)) extra[k] = s[k]
      const spec: IndexSpec = {
        name: idxName, key, extra,
        unique: s.unique === true || undefined,
        sparse: s.sparse === true || undefined,
        partialFilterExpression: s.partialFilterExpression as Doc | undefined,
        expireAfterSeconds: s.expireAfterSeconds === undefined ? undefined : toNumber(s.expireAfterSeconds),
      }
      if (idxName === '_id_' || isIdKey(key)) {
        if (isIdKey(key) && (idxName === '_id_' || s.name === undefined)) continue
        throw fault(86, `Index with name: ${idxName} already exists with a different key spec`)
      }
      const same = c.findIndex(idxName)
      if (same !== undefined) {
        if (!valuesEqual(same.spec.key, key) || hashValue(same.spec.key) !== hashValue(key)) {
          throw fault(86, `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(indexDoc(spec))}, existing index: ${JSON.stringify(indexDoc(same.spec))}`)
        }
        if (!sameOptions(same.spec, spec)) {
          throw fault(85, `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(indexDoc(spec))}, existing index: ${JSON.stringify(indexDoc(same.spec))}`)
        }
        continue
      }
      const sameKey = c.indexes.find((ix) => hashValue(ix.spec.key) === hashValue(key) && hashValue(ix.spec.partialFilterExpression) === hashValue(spec.partialFilterExpression))
      if (sameKey !== undefined) {
        throw fault(85, `Index already exists with a different name: ${sameKey.spec.name}`)
      }
      c.addIndex(spec)
      created++
    }
    const r: Doc = { numIndexesBefore: before, numIndexesAfter: c.indexes.length + 1, createdCollectionAutomatically: !existed, ok: 1 }
    if (created === 0) r.note = 'all indexes already exist'
    return r
  }

  private dropIndexes(db: string, cmd: Doc): Doc {
    const c = this.getCollection(db, String(cmd.dropIndexes), false)
    if (c === undefined) throw fault(26, `ns not found ${db}.${String(cmd.dropIndexes)}`)
    const was = c.indexes.length + 1
    const idx = cmd.index
    const names: string[] = []
    if (idx === '*') {
      names.push(...c.indexes.map((ix) => ix.spec.name))
    } else if (typeof idx === 'string') {
      names.push(idx)
    } else if (Array.isArray(idx)) {
      names.push(...idx.map(String))
    } else if (isPlainObject(idx)) {
      if (isIdKey(idx)) throw fault(72, 'cannot drop _id index')
      const ix = c.indexes.find((i) => hashValue(i.spec.key) === hashValue(idx))
      if (ix === undefined) throw fault(27, `can't find index with key: ${JSON.stringify(idx)}`)
      names.push(ix.spec.name)
    } else {
      throw fault(14, "BSON field 'dropIndexes.index' is the wrong type")
    }
    for (const n of names) {
      if (n === '_id_') throw fault(72, 'cannot drop _id index')
      if (c.findIndex(n) === undefined) throw fault(27, `index not found with name [${n}]`)
    }
    for (const n of names) c.dropIndex(n)
    return { nIndexesWas: was, ok: 1 }
  }
}

function* filterIter(src: Iterable<Rec>, m: (d: Doc) => boolean): Iterable<Rec> {
  for (const r of src) if (m(r.doc)) yield r
}

function project(p: Projector | undefined, doc: Doc, filter: Doc | undefined): Doc {
  return p === undefined ? doc : p(doc, filter)
}

function isIdKey(key: Doc): boolean {
  const ks = Object.keys(key)
  return ks.length === 1 && ks[0] === '_id'
}

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return Boolean(a.unique) === Boolean(b.unique) && Boolean(a.sparse) === Boolean(b.sparse) &&
    a.expireAfterSeconds === b.expireAfterSeconds &&
    hashValue(a.partialFilterExpression) === hashValue(b.partialFilterExpression)
}

function indexDoc(spec: IndexSpec): Doc {
  const d: Doc = { v: 2, key: spec.key, name: spec.name }
  if (spec.unique) d.unique = true
  if (spec.sparse) d.sparse = true
  if (spec.partialFilterExpression !== undefined) d.partialFilterExpression = spec.partialFilterExpression
  if (spec.expireAfterSeconds !== undefined) d.expireAfterSeconds = spec.expireAfterSeconds
  return { ...d, ...spec.extra }
}

function batchSizeOf(cursor: unknown): number | undefined {
  return isPlainObject(cursor) ? toNumber(cursor.batchSize) : undefined
}

function asLong(v: unknown): Long {
  if (v instanceof Long) return v
  return Long.fromNumber(toNumber(v) ?? 0)
}

function distinctValues(doc: Doc, key: string): unknown[] {
  const out: unknown[] = []
  const walk = (v: unknown, parts: string[], i: number): void => {
    if (i === parts.length) {
      if (Array.isArray(v)) out.push(...v)
      else if (v !== undefined) out.push(v)
      return
    }
    if (Array.isArray(v)) { for (const e of v) walk(e, parts, i); return }
    if (isPlainObject(v)) walk(v[parts[i]], parts, i + 1)
  }
  walk(doc, key.split('.'), 0)
  return out
}

function validateCollectionName(db: string, name: string): void {
  if (name === '' || name.includes('$') || name.includes('\0')) throw fault(73, `Invalid collection name: ${db}.${name}`)
  if (db === '' || /[/\\. "$]/.test(db)) throw fault(73, `Invalid database name: '${db}'`)
}

/** Top-level field names may not start with `$` (storage rule since MongoDB 5 only for top level). */
function checkStorable(doc: Doc): void {
  for (const k of Object.keys(doc)) {
    if (k.charCodeAt(0) === 36) throw fault(52, `Document can't have $ prefixed field names: ${k}`)
  }
}

export type { Document }
