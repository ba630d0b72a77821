// createIndexes, listIndexes, dropIndexes.
import { defaultIndexName, type Collection, type IndexSpec } from '../collection.js'
import { batchSizeOf } from '../cursors.js'
import { fault } from '../errors.js'
import { hashValue, isPlainObject, toNumber, valuesEqual, type Doc } from '../values.js'
import type { Handler } from './common.js'

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

const createIndexes: Handler = (e, db, cmd) => {
  const name = String(cmd.createIndexes)
  const specs = cmd.indexes as Doc[] | undefined
  if (!Array.isArray(specs) || specs.length === 0) throw fault(2, 'Must specify at least one index to create')
  const existed = e.catalogue.getCollection(db, name, false) !== undefined
  const c = e.catalogue.getCollection(db, name, true) as Collection
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

const dropIndexes: Handler = (e, db, cmd) => {
  const c = e.catalogue.getCollection(db, String(cmd.dropIndexes), false)
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

export const indexHandlers: Record<string, Handler> = {
  createIndexes,
  listIndexes: (e, db, cmd) => {
    const c = e.catalogue.getCollection(db, String(cmd.listIndexes), false)
    if (c === undefined) throw fault(26, `ns does not exist: ${db}.${String(cmd.listIndexes)}`)
    const docs = [c.idIndexSpec(), ...c.indexes.map((ix) => indexDoc(ix.spec))]
    return e.cursors.reply(`${db}.${c.name}`, docs, batchSizeOf(cmd.cursor), false)
  },
  dropIndexes,
  deleteIndexes: (e, db, cmd, conn) => dropIndexes(e, db, { ...cmd, dropIndexes: cmd.deleteIndexes }, conn),
}
