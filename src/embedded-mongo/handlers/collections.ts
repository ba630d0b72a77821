// Databases and collections: list, create, drop, rename, stats.
import { Collection } from '../collection.js'
import { validateCollectionName } from '../catalogue.js'
import { batchSizeOf } from '../cursors.js'
import { fault } from '../errors.js'
import { compileFilter } from '../filter.js'
import type { Doc } from '../values.js'
import type { Handler } from './common.js'

export const collectionHandlers: Record<string, Handler> = {
  listDatabases: (e, _db, cmd) => {
    const dbs = [...e.catalogue.dbs.entries()].filter(([, m]) => m.size > 0).map(([name, m]) => ({
      name, sizeOnDisk: [...m.values()].reduce((a, c) => a + c.size * 100, 0), empty: false,
    }))
    const filtered = cmd.filter ? dbs.filter((d) => compileFilter(cmd.filter as Doc)(d)) : dbs
    if (cmd.nameOnly === true) return { databases: filtered.map((d) => ({ name: d.name })), ok: 1 }
    return { databases: filtered, totalSize: filtered.reduce((a, d) => a + d.sizeOnDisk, 0), ok: 1 }
  },
  listCollections: (e, db, cmd) => {
    const m = e.catalogue.getDb(db, false)
    const entries: Doc[] = [...(m?.values() ?? [])].map((c) => cmd.nameOnly === true
      ? { name: c.name, type: 'collection' }
      : { name: c.name, type: 'collection', options: c.options, info: { readOnly: false }, idIndex: c.idIndexSpec() })
    const f = cmd.filter ? compileFilter(cmd.filter as Doc) : undefined
    const docs = f ? entries.filter((x) => f(x)) : entries
    return e.cursors.reply(`${db}.$cmd.listCollections`, docs, batchSizeOf(cmd.cursor), false)
  },
  create: (e, db, cmd) => {
    const name = String(cmd.create)
    if (e.catalogue.getDb(db, false)?.has(name)) throw fault(48, `Collection ${db}.${name} already exists.`)
    if (cmd.viewOn !== undefined) throw fault(115, 'views are not supported by the embedded server')
    const opts: Doc = {}
    for (const k of Object.keys(cmd)) if (!['create', '$db', 'lsid', 'writeConcern', '$readPreference', 'comment'].includes(k)) opts[k] = cmd[k]
    validateCollectionName(db, name)
    e.catalogue.getDb(db, true)?.set(name, new Collection(db, name, opts))
    return { ok: 1 }
  },
  drop: (e, db, cmd) => {
    const m = e.catalogue.getDb(db, false)
    const name = String(cmd.drop)
    const c = m?.get(name)
    if (c === undefined) {
      // MongoDB 7.0+ answers ok for a missing collection (older servers: code 26 "ns not found").
      return { ok: 1 }
    }
    m?.delete(name)
    e.cursors.dropFor(`${db}.${name}`)
    e.record('drop', db, name)
    return { nIndexesWas: c.indexes.length + 1, ns: `${db}.${name}`, ok: 1 }
  },
  dropDatabase: (e, db) => {
    const m = e.catalogue.dbs.get(db)
    e.catalogue.dbs.delete(db)
    // As mongod's oplog: a drop per collection, then the database's own event.
    if (m !== undefined && m.size > 0) {
      for (const name of m.keys()) {
        e.cursors.dropFor(`${db}.${name}`)
        e.record('drop', db, name)
      }
      e.record('dropDatabase', db, undefined)
    }
    return { dropped: db, ok: 1 }
  },
  collStats: (e, db, cmd) => {
    const c = e.catalogue.getCollection(db, String(cmd.collStats), false)
    if (c === undefined) throw fault(26, `Collection [${db}.${String(cmd.collStats)}] not found.`)
    return { ns: `${db}.${c.name}`, count: c.size, size: c.size * 100, avgObjSize: 100, storageSize: c.size * 100, nindexes: c.indexes.length + 1, totalIndexSize: 0, indexSizes: {}, ok: 1 }
  },
  dbStats: (e, db) => {
    const m = e.catalogue.getDb(db, false)
    const objects = [...(m?.values() ?? [])].reduce((a, c) => a + c.size, 0)
    return { db, collections: m?.size ?? 0, views: 0, objects, avgObjSize: 100, dataSize: objects * 100, storageSize: objects * 100, indexes: 0, indexSize: 0, ok: 1 }
  },
  renameCollection: (e, _db, cmd) => {
    const from = String(cmd.renameCollection)
    const to = String(cmd.to)
    const [fdb, ...fr] = from.split('.')
    const [tdb, ...tr] = to.split('.')
    const fname = fr.join('.')
    const tname = tr.join('.')
    if (fdb !== tdb) throw fault(115, 'renameCollection across databases is not supported by the embedded server')
    const m = e.catalogue.getDb(fdb, false)
    const c = m?.get(fname)
    if (m === undefined || c === undefined) throw fault(26, 'source namespace does not exist')
    if (m.has(tname)) {
      if (cmd.dropTarget !== true) throw fault(48, 'target namespace exists')
      m.delete(tname)
      e.record('drop', fdb, tname)
    }
    m.delete(fname)
    c.name = tname
    m.set(tname, c)
    e.record('rename', fdb, fname, undefined, undefined, undefined, { db: tdb, coll: tname })
    return { ok: 1 }
  },
}
