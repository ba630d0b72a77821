// An instance SIGKILLed between scheduling `expire-hold` and writing the booking (a hold, or an
// extension): with the recovery sweep out of the way (SWEEP_SECONDS an hour), the expire-hold job
// alone must settle everything within the hold time + a few seconds. Before the job was scheduled
// ahead of the booking write, a crash after the write left a PENDING booking with no job at all,
// its seats HELD until the sweep came by.
import t from 'tap'
import {
  adminToken, agendaJobs, call, createShow, failureKind, getBooking, mintUsers, seatMap,
  startDatabase, startInstances, waitFor, type Booking, type Instance
} from './processes.js'

const HOLD_SECONDS = 2
// No sweep during the test: whatever is settled, the expire-hold job settled.
const SWEEP_SECONDS = 3600
// The promise: settled within a few seconds of the hold's end; the machine is shared, so SLACK_MS on top.
const PROMISE_MS = (HOLD_SECONDS + 2) * 1000
const SLACK_MS = 3000

const statusOf = async (b: Instance, showId: string, labels: string[]): Promise<string[]> => {
  const map = await seatMap(b.url, showId)
  return labels.map((l) => map.seats.find((s) => s.label === l)?.status ?? 'MISSING')
}

t.test('SIGKILL between scheduling expire-hold and writing the booking: the job settles it, no sweep needed', async (t) => {
  const db = await startDatabase(t)
  const common = { uri: db.uri, holdSeconds: HOLD_SECONDS, sweepSeconds: SWEEP_SECONDS }
  const [a, b] = await startInstances(t, [
    { name: 'A (crash after scheduling the hold\'s expiry)', ...common, crashAt: 'after-expiry-scheduled' },
    { name: 'B', ...common }
  ])
  const admin = await adminToken(b.url)
  const showId = await createShow(b.url, admin, 20)
  const [user, other] = await mintUsers(db.uri, 2)

  await t.test('hold: killed after its expiry job was scheduled, before the booking was written', async (t) => {
    const labels = ['A1', 'A2']
    const started = Date.now()
    const outcome = await call(a.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: labels } })
      .then((r) => r.status, failureKind)
    t.equal(outcome, 'reset', 'the hold dies with its instance')
    t.same(await a.child.waitExit(5000), { code: null, signal: 'SIGKILL' }, 'A was SIGKILLed')
    t.same(await statusOf(b, showId, labels), ['HELD', 'HELD'], 'the claimed seats are HELD')
    t.equal((await call<{ total: number }>(b.url, 'GET', '/api/bookings', { token: user.token })).body.total, 0, 'and no booking exists')

    await waitFor('the seats to be AVAILABLE again', PROMISE_MS + SLACK_MS + 5000, async () =>
      (await statusOf(b, showId, labels)).every((s) => s === 'AVAILABLE') ? true : undefined)
      .catch(async (error: unknown) => {
        t.comment(`Agenda jobs:\n${await agendaJobs(db.uri)}`)
        throw error
      })
    const elapsed = Date.now() - started
    t.ok(elapsed <= PROMISE_MS + SLACK_MS, `seats AVAILABLE ${elapsed} ms after the hold (promise ${PROMISE_MS} ms + ${SLACK_MS} ms slack), with no sweep`)
    const again = await call<Booking>(b.url, 'POST', `/api/shows/${showId}/bookings`, { token: other.token, body: { seatLabels: labels } })
    t.equal(again.status, 201, 'a new hold for the same seats succeeds')
  })

  await t.test('extend: killed after the new expiry job was scheduled, before the booking moved', async (t) => {
    const [d] = await startInstances(t, [{ name: 'D (crash after scheduling the extension\'s expiry)', ...common, crashAt: 'after-extend-scheduled' }])
    const labels = ['B1', 'B2']
    const started = Date.now()
    const hold = await call<Booking>(b.url, 'POST', `/api/shows/${showId}/bookings`, { token: user.token, body: { seatLabels: labels } })
    t.equal(hold.status, 201, 'hold on B')
    const outcome = await call(d.url, 'POST', `/api/bookings/${hold.body.id}/extend`, { token: user.token })
      .then((r) => r.status, failureKind)
    t.equal(outcome, 'reset', 'the extension dies with its instance')
    t.same(await d.child.waitExit(5000), { code: null, signal: 'SIGKILL' }, 'D was SIGKILLed')
    t.match(await getBooking(b.url, user.token, hold.body.id), { status: 'PENDING', expiresAt: hold.body.expiresAt }, 'the booking was not extended')

    // Its own job at the old end fails it and frees the seats, though they were pushed later.
    await waitFor('the booking to fail and its seats to be AVAILABLE', PROMISE_MS + SLACK_MS + 5000, async () => {
      const [now, seats] = await Promise.all([getBooking(b.url, user.token, hold.body.id), statusOf(b, showId, labels)])
      return now.status === 'FAILED' && seats.every((s) => s === 'AVAILABLE') ? true : undefined
    }).catch(async (error: unknown) => {
      t.comment(`Agenda jobs:\n${await agendaJobs(db.uri)}`)
      throw error
    })
    const elapsed = Date.now() - started
    t.ok(elapsed <= PROMISE_MS + SLACK_MS, `booking FAILED and seats AVAILABLE ${elapsed} ms after the hold (promise ${PROMISE_MS} ms + ${SLACK_MS} ms slack), with no sweep`)
  })

  await t.test('the extension\'s own job, run for a booking it never moved, changes nothing', async (t) => {
    // The second job (at the pushed end) ran or runs on B for a FAILED booking: a no-op. Once it is
    // due, nothing is HELD and the seats the first case freed were taken again by the new hold only.
    const map = await waitFor('only the new hold\'s seats HELD', PROMISE_MS + SLACK_MS + 5000, async () => {
      const m = await seatMap(b.url, showId)
      return m.counts.HELD === 0 ? m : undefined
    })
    t.same(map.counts, { AVAILABLE: 20, HELD: 0, BOOKED: 0 }, 'every seat AVAILABLE once every hold lapsed')
    t.equal((await getBooking(b.url, user.token, (await call<{ items: Booking[] }>(b.url, 'GET', '/api/bookings', { token: user.token })).body.items[0].id)).status, 'FAILED', 'the booking stays FAILED')
  })
})
