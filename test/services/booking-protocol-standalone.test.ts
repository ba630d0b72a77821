// The booking protocol's race and recovery tests again, on a standalone embedded server:
// the test harness's database is a replica set, and a standalone mongod is still a supported
// deployment (no retryable writes, no change streams), so the protocol must hold on both.
import t from 'tap'
import { MongoClient } from 'mongodb'
import { startDatabase } from '../faults/processes.js'
import './booking-protocol.test.js'

// Before the imported tests run: test/helper.ts takes MONGODB_URI before the run's own database.
t.before(async () => {
  const db = await startDatabase(t, 0, 'db (standalone)', ['--standalone'])
  const client = new MongoClient(db.uri)
  const hello = await client.db('admin').command({ hello: 1 })
  await client.close()
  if ('setName' in hello) throw new Error('expected a standalone')
  process.env.MONGODB_URI = db.uri
})
