// The command observers of src/driver-hooks.ts, which count modex_db_commands_total and time the
// seat map's reads in place of the driver's command monitoring: they must see what the driver's
// own commandStarted events show, for their client only, and nothing of its monitoring.
import t from 'tap'
import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { MongoClient, type Db } from 'mongodb'
import { installDriverHooks, onCommandSent, type SentCommand } from '../src/driver-hooks.js'
import { buildTestApp, createShow, databaseUri, hold, holdOk, signUp } from './helper.js'

/** Operations of every kind the service sends: writes, reads with a getMore, a cursor closed early, a change stream. */
async function workOn (db: Db): Promise<void> {
  const c = db.collection('things')
  await c.insertOne({ n: 1 })
  await c.insertMany(Array.from({ length: 10 }, (_, i) => ({ n: i + 2 })))
  await c.findOneAndUpdate({ n: 1 }, { $set: { m: 1 } }, { returnDocument: 'after' })
  await c.find({ n: { $gte: 2 } }, { batchSize: 4 }).toArray() // find, getMore, getMore
  const cursor = c.find({}, { batchSize: 2 })
  await cursor.next()
  await cursor.close() // killCursors
  await c.updateMany({}, { $inc: { n: 1 } })
  await c.aggregate([{ $match: { n: 2 } }]).toArray()
  await c.deleteOne({ n: 2 })
  await c.countDocuments()
  const stream = c.watch([], { maxAwaitTimeMS: 100 })
  const next = stream.next()
  await sleep(250) // at least one empty getMore
  await c.insertOne({ n: 100 })
  await next
  await stream.close()
}

const named = (e: SentCommand): string => `${e.commandName} ${String(e.command[e.commandName])}`

t.test('an observer sees the commands commandStarted shows, of its own client only, and none of the monitoring', async (t) => {
  installDriverHooks()
  const suffix = `${process.pid}_${Date.now()}`
  // Heartbeats every 500 ms: the monitor's hellos go out while the observer listens.
  const options = { heartbeatFrequencyMS: 500 }
  // The driver's own monitoring on the observed client, as the reference.
  const observed = new MongoClient(databaseUri(), { ...options, monitorCommands: true })
  const other = new MongoClient(databaseUri(), options)
  t.teardown(async () => { await Promise.all([observed.close(), other.close()]) })
  await Promise.all([observed.connect(), other.connect()])

  const seen: SentCommand[] = []
  const stop = onCommandSent(observed, (e) => { seen.push(e) })
  const started: string[] = []
  observed.on('commandStarted', (e) => { started.push(`${e.commandName} ${String(e.command[e.commandName])}`) })

  await Promise.all([workOn(observed.db(`observed_${suffix}`)), workOn(other.db(`other_${suffix}`))])
  t.ok(started.length >= 16, `the driver's own events saw the work (${started.length})`)
  for (const command of ['getMore', 'killCursors', 'aggregate']) t.ok(started.some((c) => c.startsWith(command)), `with ${command}`)
  t.same(seen.map(named), started, 'the same commands, in the same order, as the driver reports')
  t.ok(seen.every((e) => e.command.$db === `observed_${suffix}`), 'none of another client\'s commands, on the same server')
  t.notOk(seen.some((e) => /^(hello|ismaster|isMaster)$/.test(e.commandName)), 'no heartbeat or handshake')
  t.ok(seen.some((e) => e.commandName === 'findAndModify' && JSON.stringify(e.command.query) === '{"n":1}'),
    'the command document as sent (the findAndModify\'s query)')

  stop()
  const after = seen.length
  await observed.db(`observed_${suffix}`).collection('things').insertOne({ n: 9 })
  t.equal(seen.length, after, 'nothing after the observer stopped')
  await Promise.all([`observed_${suffix}`, `other_${suffix}`].map(async (name) => await observed.db(name).dropDatabase()))
})

t.test('the service counts its commands: a two-seat hold is two claims, the booking and its job', async (t) => {
  const app = await buildTestApp(t, { SWEEP_SECONDS: '3600' })
  const show = await createShow(app)
  const user = await signUp(app)
  await holdOk(app, user.authorization, show.id, ['A1']) // the show and its seat index now in memory
  const scrape = async (): Promise<Record<string, number>> => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    const counts: Record<string, number> = {}
    for (const m of text.matchAll(/^modex_db_commands_total\{command="(\w+)"\} (\d+)$/gm)) counts[m[1]] = Number(m[2])
    return counts
  }
  // Only the hold's own commands: those sent from its async context (Agenda's lock queries, the seat
  // map stream's getMores, the overdue pass and other background work run in contexts of their own).
  const context = new AsyncLocalStorage<'hold'>()
  const sent: string[] = []
  // The show (kept 500 ms) and the account (5 s) are re-read by their caches when due: not per hold.
  const cacheReads = new Set(['find shows', 'find users'])
  const stop = onCommandSent(app.db.getClient(), (e) => {
    const command = `${e.commandName} ${String(e.command[e.commandName])}`
    if (context.getStore() === 'hold' && !cacheReads.has(command)) sent.push(command)
  })
  t.teardown(stop)
  const before = await scrape()
  const res = await context.run('hold', async () => await hold(app, user.authorization, show.id, { seatLabels: ['B1', 'B2'] }))
  t.equal(res.statusCode, 201)
  t.same(sent, ['findAndModify seats', 'findAndModify seats', 'insert agendaJobs', 'insert bookings'], 'two claims, the expiry job, the booking: nothing else')
  const after = await scrape()
  t.ok((after.findAndModify ?? 0) - (before.findAndModify ?? 0) >= 2, 'modex_db_commands_total counted the claims')
  t.ok((after.insert ?? 0) - (before.insert ?? 0) >= 2, 'and the two inserts')
  // The service asks hello once at start (is this a replica set?); heartbeats go every second.
  const hellos = (await scrape()).hello ?? 0
  await sleep(2500)
  t.equal((await scrape()).hello ?? 0, hellos, 'and none of the driver\'s heartbeats')
})
