// Shared by the embedded server's own tests (not a test file itself).
import t from 'tap'
import { MongoClient, MongoServerError, type Db } from 'mongodb'
import { startEmbeddedMongo, type EmbeddedMongo, type EmbeddedMongoOptions } from '../../src/embedded-mongo/index.js'

export interface EmbeddedHarness { server: EmbeddedMongo, client: MongoClient, db: Db }

/**
 * Starts an embedded server for the calling test file, with the official driver connected to
 * it and `dbName` as its database (a replica set unless `options` say standalone); everything is dropped and stopped when the file ends.
 */
export function useEmbeddedMongo (dbName: string, options: EmbeddedMongoOptions = {}): EmbeddedHarness {
  const harness = {} as EmbeddedHarness
  t.before(async () => {
    harness.server = await startEmbeddedMongo(options)
    harness.client = new MongoClient(harness.server.uri)
    await harness.client.connect()
    harness.db = harness.client.db(dbName)
  })
  t.teardown(async () => {
    await harness.db.dropDatabase()
    await harness.client.close()
    await harness.server.stop()
  })
  return harness
}

/** The server error a promise rejects with (fails if it resolves or rejects otherwise). */
export async function serverError (p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p
  } catch (e) {
    if (e instanceof MongoServerError) return e
    throw e
  }
  throw new Error('expected a server error')
}
