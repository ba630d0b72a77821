import t from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { MongoClient } from 'mongodb'
import { Agenda, type Job } from 'agenda'
import { MongoBackend } from '@agendajs/mongo-backend'
import pino from 'pino'
import { nextConcurrencyFreeJob, speedUpJobQueue } from '../../src/jobs/job-queue.js'
import { databaseUri, waitFor } from '../helper.js'

// Agenda's own choice of the next job is quadratic in the jobs it has queued (issue 13's large
// expiry); ours must make the same choice, and Agenda must still run every job with it.

type Pick = (this: unknown, status: Record<string, { running: number } | undefined>, handled: unknown[]) => unknown

async function startedAgenda (t: Tap, define: (agenda: Agenda) => void): Promise<Agenda> {
  const client = await new MongoClient(databaseUri()).connect()
  const db = client.db(`modex_test_${randomBytes(6).toString('hex')}`)
  const agenda = new Agenda({ backend: new MongoBackend({ mongo: db, collection: 'agendaJobs' }), processEvery: 100, maxConcurrency: 50 })
  define(agenda)
  t.teardown(async () => {
    await agenda.stop().catch(() => undefined)
    await db.dropDatabase().catch(() => undefined)
    await client.close()
  })
  await agenda.start()
  return agenda
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

t.test('the same job as Agenda\'s own choice, over random queues, concurrency and handled jobs', async (t) => {
  const agenda = await startedAgenda(t, (a) => {
    a.define('a', async () => {}, { concurrency: 2 })
    a.define('b', async () => {}, { concurrency: 0 })
    a.define('c', async () => {})
  })
  const queue = (agenda as unknown as { jobProcessor: { jobQueue: object } }).jobProcessor.jobQueue
  const agendasOwn = (Object.getPrototypeOf(queue) as { returnNextConcurrencyFreeJob: Pick }).returnNextConcurrencyFreeJob
  t.type(agendasOwn, 'function', 'Agenda\'s queue has the method replaced')
  const names = ['a', 'b', 'c', 'undefined-name']
  let differing = 0
  let found = 0
  for (let round = 0; round < 500; round++) {
    const ids = Array.from({ length: Math.floor(Math.random() * 30) }, () => ({}))
    const fake = {
      agenda: (queue as { agenda: unknown }).agenda,
      _queue: ids.map((id) => ({ attrs: { name: names[Math.floor(Math.random() * names.length)], _id: id } }))
    }
    const status: Record<string, { running: number }> = {}
    for (const n of names) if (Math.random() < 0.7) status[n] = { running: Math.floor(Math.random() * 4) }
    // One handled array grown across calls, as a processing chain grows it.
    const handled: unknown[] = []
    for (let step = 0; step < 4; step++) {
      for (const id of ids) if (Math.random() < 0.2) handled.push(id)
      const theirs = agendasOwn.call(fake, status, handled)
      const ours = nextConcurrencyFreeJob.call(fake as never, status, handled)
      if (theirs !== ours) differing++
      if (ours !== undefined) found++
    }
  }
  t.equal(differing, 0, 'never a different job')
  t.ok(found > 500, `a job was found in many of the cases (${found} of 2000)`)
})

t.test('installed on a started Agenda, which still runs every job, each once, within concurrency', async (t) => {
  const runs = new Map<string, number>()
  let running = 0
  let maxRunning = 0
  const agenda = await startedAgenda(t, (a) => {
    a.define<{ k: string }>('work', async (job: Job<{ k: string }>) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      await sleep(5)
      running--
      runs.set(job.attrs.data.k, (runs.get(job.attrs.data.k) ?? 0) + 1)
    // Agenda's liveness timers of a run last a lock: short, so the test ends soon; but longer than
    // the 300 jobs locked at once can wait in the queue on a loaded machine (2 s was not, with
    // four test files at once: a lapsed lock is locked again and its job runs twice).
    }, { concurrency: 5, lockLimit: 0, lockLifetime: 8000 })
  })
  t.equal(speedUpJobQueue(agenda, pino({ level: 'silent' })), true, 'installed')
  const queue = (agenda as unknown as { jobProcessor: { jobQueue: { returnNextConcurrencyFreeJob: unknown } } }).jobProcessor.jobQueue
  t.equal(queue.returnNextConcurrencyFreeJob, nextConcurrencyFreeJob)
  const at = new Date(Date.now() + 300)
  await Promise.all(Array.from({ length: 300 }, async (_, i) => { await agenda.schedule(at, 'work', { k: String(i) }) }))
  await waitFor('all 300 jobs to run', 30_000, async () => runs.size === 300 && running === 0 ? true : undefined)
  t.same([...runs.values()].filter((n) => n !== 1), [], 'each job ran once')
  t.ok(maxRunning <= 5, `never more than the name's concurrency at once (${maxRunning})`)
})

t.test('a queue of another shape is left alone', async (t) => {
  const warnings: string[] = []
  const log = pino({ level: 'warn' }, { write: (line: string) => { warnings.push(line) } })
  t.equal(speedUpJobQueue({} as Agenda, log), false)
  t.equal(warnings.length, 1, 'with a warning')
})
