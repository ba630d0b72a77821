import t from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { MongoClient } from 'mongodb'
import { Agenda, type Job } from 'agenda'
import { MongoBackend } from '@agendajs/mongo-backend'
import { whileLocked } from '../../src/jobs/keep-locked.js'
import { databaseUri, waitFor } from '../helper.js'

// Agenda cuts off a job that runs longer than its lock ("execution ... canceled"); under a big
// sale the sweep and expiries can. whileLocked renews the lock while the work runs (issue 13).
const LOCK_MS = 2000
const WORK_MS = 5000

async function runOnce (t: Tap, renew: boolean): Promise<{ completed: boolean, cancelled: string[] }> {
  const client = await new MongoClient(databaseUri()).connect()
  const db = client.db(`modex_test_${randomBytes(6).toString('hex')}`)
  const agenda = new Agenda({ backend: new MongoBackend({ mongo: db, collection: 'agendaJobs' }), processEvery: 100 })
  const cancelled: string[] = []
  let completed = false
  agenda.on('error', (error: Error) => { if (/canceled, execution took more than/.test(error.message)) cancelled.push(error.message) })
  agenda.define('long', async (job: Job) => {
    const work = async (): Promise<void> => { await sleep(WORK_MS) }
    if (renew) await whileLocked(job, LOCK_MS / 10, work)
    else await work()
    completed = true
  }, { lockLifetime: LOCK_MS })
  t.teardown(async () => {
    await agenda.stop().catch(() => undefined)
    await db.dropDatabase().catch(() => undefined)
    await client.close()
  })
  await agenda.start()
  await agenda.now('long')
  await waitFor('the job to finish or be cut off', 30_000, async () => completed || cancelled.length > 0 ? true : undefined)
  // A cut-off job's function still runs on: wait for it, so both outcomes are read at the end.
  if (cancelled.length > 0 && !renew) await waitFor('the cut-off job\'s function to finish', 30_000, async () => completed ? true : undefined)
  return { completed, cancelled }
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

t.test('a job longer than its lock is cut off without renewal (the failure this guards against)', async (t) => {
  const { cancelled } = await runOnce(t, false)
  t.ok(cancelled.length >= 1, 'Agenda cancels it (and, its lock lapsed, may pick it up again)')
})

t.test('with whileLocked the same job runs to the end and is never cancelled', async (t) => {
  const { completed, cancelled } = await runOnce(t, true)
  t.ok(completed, 'completed')
  t.same(cancelled, [], 'not cancelled')
})
