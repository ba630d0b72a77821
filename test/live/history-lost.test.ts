// An instance whose change stream falls behind the database's history (here: the process is
// stopped with SIGSTOP while more changes than the history holds are made elsewhere) cannot
// resume from its token: it must send its subscribers a fresh snapshot, never leave a silent gap.
// A short stop, within the history, resumes from the token with no snapshot and nothing missed.
import t from 'tap'
import {
  adminToken, call, createShow, mintUsers, seatMap, startDatabase, startInstances, type Booking
} from '../faults/processes.js'
import { open, replay } from './sse-client.js'

const HISTORY = 100

t.test('a change stream that cannot resume gives every subscriber a fresh snapshot', async (t) => {
  const db = await startDatabase(t, 0, 'db', ['--history', String(HISTORY)])
  if (!/replica set/.test(db.child.output)) {
    t.skip('the embedded database runs standalone here: no change streams to lose', async () => undefined)
    return
  }
  const common = { uri: db.uri, holdSeconds: 30, sweepSeconds: 1 }
  const [watcher, writer] = await startInstances(t, [{ name: 'watcher', ...common }, { name: 'writer', ...common }])
  const admin = await adminToken(writer.url)
  const showId = await createShow(writer.url, admin, 100, 10, 1800)
  const labels = (await seatMap(writer.url, showId)).seats.map((s) => s.label)
  const stream = open(watcher.url, showId)
  t.teardown(() => stream.close())
  await stream.until('the snapshot', () => stream.events.length > 0)
  const [user] = await mintUsers(db.uri, 1)
  const hold = async (label: string): Promise<void> => {
    const res = await call<Booking>(writer.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: [label] }, timeoutMs: 30_000 })
    if (res.status !== 201) throw new Error(`hold ${label}: ${res.status} ${JSON.stringify(res.body)}`)
  }
  const agrees = async (t: { pass: (m: string) => void }, what: string): Promise<void> => {
    const final = await seatMap(writer.url, showId)
    await stream.until(`${what}: the map to equal GET /seats`, () => final.seats.every((s) => replay(stream.events).seats.get(s.id) === s.status), 30_000)
    t.pass(`${what}: the replayed map equals GET /seats`)
  }

  await t.test('a short stop: resumed from the token, nothing missed, no snapshot', async (t) => {
    watcher.child.kill('SIGSTOP')
    for (const label of labels.slice(0, 5)) await hold(label)
    watcher.child.kill('SIGCONT')
    await agrees(t, 'after a short stop')
    t.equal(replay(stream.events).snapshots, 1, 'still the one snapshot')
  })

  await t.test('a stop longer than the history: a fresh snapshot', async (t) => {
    watcher.child.kill('SIGSTOP')
    // Each hold is at least three recorded changes (the seat, the booking, its expiry job): 95 holds overflow a history of 100.
    for (const label of labels.slice(5)) await hold(label)
    watcher.child.kill('SIGCONT')
    await stream.until('a second snapshot', () => replay(stream.events).snapshots === 2, 30_000)
    t.pass('the subscriber got a fresh snapshot')
    await agrees(t, 'after the history was lost')
  })
})
