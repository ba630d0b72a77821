// Agenda 6 with its MongoDB backend runs unchanged on the embedded server.
import t from 'tap'
import { Agenda } from 'agenda'
import { MongoBackend } from '@agendajs/mongo-backend'
import { useEmbeddedMongo } from './support.js'

const mongo = useEmbeddedMongo('agenda_harness')

t.test('a job scheduled 1 s ahead runs exactly once, and stop() leaves nothing running', async (t) => {
  const db = mongo.client.db('agenda_test')
  // Intervals as numbers of ms: Agenda's string parser would read '100 milliseconds' differently.
  const agenda = new Agenda({ backend: new MongoBackend({ mongo: db }), processEvery: 100, defaultLockLifetime: 2000 })
  const runs: number[] = []
  agenda.define('expire-hold', async (job) => {
    runs.push(Date.now())
    t.same((job.attrs.data as { bookingId: string }).bookingId, 'b-1')
  })
  await agenda.start()
  const scheduledAt = Date.now()
  await agenda.schedule(new Date(scheduledAt + 1000), 'expire-hold', { bookingId: 'b-1' })
  await new Promise((r) => setTimeout(r, 3000))
  await agenda.stop()
  t.equal(runs.length, 1, 'ran exactly once')
  t.ok(runs[0] >= scheduledAt + 900, 'not before its time')
  const jobs = await db.collection('agendaJobs').find({ name: 'expire-hold' }).toArray()
  t.equal(jobs.length, 1)
  t.ok(jobs[0].lastFinishedAt instanceof Date, 'finish recorded in the job document')
  t.notOk(jobs[0].lockedAt, 'lock released')
})

t.test('a recurring job via every() runs and unique jobs upsert', async (t) => {
  const db = mongo.client.db('agenda_test2')
  const agenda = new Agenda({ backend: new MongoBackend({ mongo: db }), processEvery: 100, defaultLockLifetime: 2000 })
  let n = 0
  agenda.define('sweep', async () => { n++ })
  await agenda.start()
  await agenda.every(300, 'sweep')
  await agenda.every(300, 'sweep') // same name: updates the single job document
  await new Promise((r) => setTimeout(r, 1200))
  await agenda.stop()
  t.ok(n >= 2, `recurring job ran ${n} times`)
  t.equal(await db.collection('agendaJobs').countDocuments({ name: 'sweep' }), 1)
})
