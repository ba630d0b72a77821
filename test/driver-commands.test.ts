// The command observers of src/driver-hooks.ts, which count modex_db_commands_total and time the
// seat map's reads in place of the driver's command monitoring: they must see what the driver's
// own commandStarted events show, for their client only, and nothing of its monitoring.
import t from 'tap'
import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { MongoClient, type Db } from 'mongodb'
import { installDriverHooks, onCommandSent, type SentCommand } from '../src/driver-hooks.js'
import { buildTestApp, createShow, databaseUri, hold, holdOk, signUp } from './helper.js'

/** The same operations, each a command of its own. */
async function workOn (db: Db): Promise<void> {
  const c = db.collection('things')
  await c.insertOne({ n: 1 })
  await c.insertMany([{ n: 2 }, { n: 3 }])
  await c.findOneAndUpdate({ n: 1 }, { $set: { m: 1 } }, { returnDocument: 'after' })
  await c.find({ n: { $gte: 2 } }).toArray()
  await c.updateMany({}, { $inc: { n: 1 } })
  await c.aggregate([{ $match: { n: 2 } }]).toArray()
  await c.deleteOne({ n: 2 })
  await c.countDocuments()
}

const named = (e: SentCommand): string => `${e.commandName} ${String(e.command[e.commandName])}`

t.test('an observer sees the commands commandStarted shows, of its own client only, and none of the monitoring', async (t) => {
  installDriverHooks()
  const suffix = `${process.pid}_${Date.now()}`
  // Heartbeats every 500 ms: the monitor's hellos go out while the observer listens.
  const options = { heartbeatFrequencyMS: 500 }
  const observed = new MongoClient(databaseUri(), options)
  const other = new MongoClient(databaseUri(), options)
  const monitored = new MongoClient(databaseUri(), { ...options, monitorCommands: true })
  t.teardown(async () => { await Promise.all([observed.close(), other.close(), monitored.close()]) })
  await Promise.all([observed.connect(), other.connect(), monitored.connect()])

  const seen: SentCommand[] = []
  const stop = onCommandSent(observed, (e) => { seen.push(e) })
  const started: string[] = []
  monitored.on('commandStarted', (e) => { started.push(`${e.commandName} ${String(e.command[e.commandName])}`) })

  await Promise.all([
    workOn(observed.db(`observed_${suffix}`)),
    workOn(other.db(`other_${suffix}`)),
    workOn(monitored.db(`monitored_${suffix}`))
  ])
  await sleep(1200) // two heartbeats or more
  t.ok(started.length >= 8, `the driver's own events saw the work (${started.length})`)
  t.same(seen.map(named), started, 'the same commands, in the same order, as the driver reports')
  t.ok(seen.every((e) => e.command.$db === `observed_${suffix}`), 'none of another client\'s commands, on the same server')
  t.notOk(seen.some((e) => /^(hello|ismaster|isMaster)$/.test(e.commandName)), 'no heartbeat or handshake')
  t.ok(seen.some((e) => e.commandName === 'findAndModify' && JSON.stringify(e.command.query) === '{"n":1}'),
    'the command document as sent (the findAndModify\'s query)')

  stop()
  const after = seen.length
  await observed.db(`observed_${suffix}`).collection('things').insertOne({ n: 9 })
  t.equal(seen.length, after, 'nothing after the observer stopped')
  await Promise.all([`observed_${suffix}`, `other_${suffix}`, `monitored_${suffix}`].map(async (name) => await observed.db(name).dropDatabase()))
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
  const stop = onCommandSent(app.db.getClient(), (e) => {
    if (context.getStore() === 'hold') sent.push(`${e.commandName} ${String(e.command[e.commandName])}`)
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
