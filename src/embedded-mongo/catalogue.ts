// The catalogue: databases, their collections, and the TTL monitor's sweep over them.
import { Collection, type Rec } from './collection.js'
import { fault } from './errors.js'

export class Catalogue {
  readonly dbs = new Map<string, Map<string, Collection>>()

  getDb(db: string, create: boolean): Map<string, Collection> | undefined {
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

  /** Deletes documents whose TTL-indexed date is older than expireAfterSeconds; `onRemove` sees each. */
  expireTtl(now: number, onRemove?: (c: Collection, r: Rec) => void): number {
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
          for (const r of doomed) {
            c.remove(r)
            onRemove?.(c, r)
          }
          removed += doomed.length
        }
      }
    }
    return removed
  }
}

export function validateCollectionName(db: string, name: string): void {
  if (name === '' || name.includes('$') || name.includes('\0')) throw fault(73, `Invalid collection name: ${db}.${name}`)
  if (db === '' || /[/\\. "$]/.test(db)) throw fault(73, `Invalid database name: '${db}'`)
}
