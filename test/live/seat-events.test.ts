// API.md § Live seat maps, on one listening instance: the stream's shape, every kind of seat
// change, resume, limits, shutdown, metrics. (Several instances: test/live/two-instances.test.ts.)
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { adminAuth, buildTestApp, createShow, json, listen, seatMap, signUp } from '../helper.js'
import { countsOf, open, replay, type SseStream } from './sse-client.js'

/** The stream's replayed map equals GET /seats (statuses and counts). */
async function agreesWithSeatMap (t: Tap, app: FastifyInstance, stream: SseStream, showId: string, what: string): Promise<void> {
  const final = await seatMap(app, showId)
  const expected = new Map(final.seats.map((s) => [s.id, s.status]))
  await stream.until(`${what}: the stream to reach the final map`, () => {
    const map = replay(stream.events)
    return [...expected].every(([id, status]) => map.seats.get(id) === status)
  })
  const map = replay(stream.events)
  t.same(Object.fromEntries(map.seats), Object.fromEntries(expected), `${what}: replayed map = GET /seats`)
  t.same(countsOf(map), final.counts, `${what}: counts`)
  t.same(map.counts, final.counts, `${what}: the last event's counts`)
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

// Both sources: `auto` (a change stream on a replica set; polling on a standalone test database) and `polling`.
for (const source of ['auto', 'polling'] as const) t.test(`live seat maps on one instance (LIVE_SOURCE=${source})`, async (t) => {
  const app = await buildTestApp(t, { HOLD_SECONDS: '1', SWEEP_SECONDS: '1', LIVE_SOURCE: source })
  const base = await listen(app)
  const metricsText = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.comment(`source: ${metricsText.match(/^modex_live_source\{source="([^"]+)"\} 1$/m)?.[1] ?? '?'}`)
  if (source === 'polling') t.match(metricsText, /^modex_live_source\{source="polling"\} 1$/m, 'LIVE_SOURCE=polling polls')
  const user = await signUp(app)
  const show = await createShow(app, { seating: { totalSeats: 12, seatsPerRow: 6 } })
  const before = await seatMap(app, show.id)

  t.test('a snapshot first, retry advice, the SSE headers (with CORS and security headers)', async (t) => {
    const stream = open(base, show.id, undefined, { origin: 'http://spa.example' })
    t.teardown(() => stream.close())
    await stream.until('the snapshot', () => stream.events.length > 0)
    t.equal(stream.status, 200)
    t.match(stream.headers?.get('content-type'), /^text\/event-stream/)
    t.equal(stream.headers?.get('cache-control'), 'no-cache')
    t.equal(stream.headers?.get('access-control-allow-origin'), 'http://spa.example', 'CORS like any other answer')
    t.equal(stream.headers?.get('x-content-type-options'), 'nosniff', 'security headers like any other answer')
    t.equal(stream.retry, 2000, 'retry: 2000')
    const [first] = stream.events
    t.equal(first.event, 'snapshot')
    t.ok(first.id !== undefined && first.id !== '', 'the snapshot has an id')
    const data = JSON.parse(first.data) as { showId: string, seats: unknown[], counts: unknown, show: { status: string } }
    t.same({ showId: data.showId, seats: data.seats, counts: data.counts }, before, 'the snapshot is the map GET /seats gives')
    t.same(data.show, { status: 'SCHEDULED' })
  })

  t.test('holds, confirms, cancels, expiries and a show cancel reach the stream', async (t) => {
    const own = await createShow(app, { seating: { totalSeats: 10, seatsPerRow: 10 } })
    const stream = open(base, own.id)
    t.teardown(() => stream.close())
    await stream.until('the snapshot', () => stream.events.length > 0)
    const hold = async (labels: string[]): Promise<string> => {
      const res = await app.inject({ method: 'POST', url: `/api/shows/${own.id}/bookings`, headers: { authorization: user.authorization }, payload: { seatLabels: labels } })
      t.equal(res.statusCode, 201, `hold ${labels.join(',')}`)
      return json<{ id: string }>(res).id
    }
    const statusOf = (label: string): string | undefined => {
      const snapshot = JSON.parse(stream.events[0].data) as { seats: Array<{ id: string, label: string }> }
      const id = snapshot.seats.find((s) => s.label === label)?.id ?? ''
      return replay(stream.events).seats.get(id)
    }

    const a = await hold(['A1', 'A2'])
    await stream.until('A1, A2 HELD', () => statusOf('A1') === 'HELD' && statusOf('A2') === 'HELD')
    t.pass('a hold')
    t.equal((await app.inject({ method: 'POST', url: `/api/bookings/${a}/confirm`, headers: { authorization: user.authorization }, payload: {} })).statusCode, 200)
    await stream.until('A1, A2 BOOKED', () => statusOf('A1') === 'BOOKED' && statusOf('A2') === 'BOOKED')
    t.pass('a confirm')
    t.equal((await app.inject({ method: 'POST', url: `/api/bookings/${a}/cancel`, headers: { authorization: user.authorization } })).statusCode, 200)
    await stream.until('A1, A2 AVAILABLE', () => statusOf('A1') === 'AVAILABLE' && statusOf('A2') === 'AVAILABLE')
    t.pass('a cancel of a confirmed booking')

    await hold(['A3'])
    await stream.until('A3 HELD', () => statusOf('A3') === 'HELD')
    await stream.until('A3 AVAILABLE again: the hold expired', () => statusOf('A3') === 'AVAILABLE')
    t.pass('an expiry')

    await hold(['A4', 'A5'])
    await stream.until('A4 HELD', () => statusOf('A4') === 'HELD')
    const cancel = await app.inject({ method: 'POST', url: `/api/admin/shows/${own.id}/cancel`, headers: await adminAuth(app) })
    t.equal(cancel.statusCode, 200)
    await stream.until('the show event', () => stream.events.some((e) => e.event === 'show'))
    t.same(JSON.parse(stream.events.find((e) => e.event === 'show')?.data ?? '{}'), { showId: own.id, status: 'CANCELLED' })
    await agreesWithSeatMap(t, app, stream, own.id, 'after an admin cancel')
    for (const e of stream.events.filter((e) => e.event === 'seats')) {
      t.ok(e.id !== undefined, 'every seats event has an id')
      t.match(JSON.parse(e.data), { showId: own.id, changes: Array, counts: { AVAILABLE: Number, HELD: Number, BOOKED: Number } })
    }
  })

  t.test('Last-Event-ID: resumes with what was missed; an id it cannot honour gets a snapshot', async (t) => {
    const own = await createShow(app, { seating: { totalSeats: 10, seatsPerRow: 10 } })
    const first = open(base, own.id)
    await first.until('the snapshot', () => first.events.length > 0)
    const lastId = first.lastEventId
    first.close()
    await first.done
    const res = await app.inject({ method: 'POST', url: `/api/shows/${own.id}/bookings`, headers: { authorization: user.authorization }, payload: { seatLabels: ['A7'] } })
    t.equal(res.statusCode, 201)
    const held = (await seatMap(app, own.id)).seats.find((s) => s.label === 'A7')
    t.equal(held?.status, 'HELD')

    // The hold is made while nobody listens; waiting for the instance to have seen it is waiting on its source.
    const resumed = open(base, own.id, lastId)
    t.teardown(() => resumed.close())
    const merged = replay(first.events)
    await resumed.until('A7 HELD on the resumed stream', () => replay(resumed.events, structuredClone(merged)).seats.get(held?.id ?? '') === 'HELD')
    t.notOk(resumed.events.some((e) => e.event === 'snapshot'), 'no snapshot: the stream resumed')

    for (const id of ['nonsense', 'p.00000000.1', '1.1.1', '99999999999.0.0']) {
      const other = open(base, own.id, id)
      t.teardown(() => other.close())
      await other.until(`a first event for Last-Event-ID ${id}`, () => other.events.length > 0)
      t.equal(other.events[0].event, 'snapshot', `Last-Event-ID ${id}: a fresh snapshot`)
    }
  })

  t.test('errors before the stream: 404, 400, in the contract body', async (t) => {
    const missing = await fetch(`${base}/api/shows/aaaaaaaaaaaaaaaaaaaaaaaa/seats/events`)
    t.equal(missing.status, 404)
    t.match(await missing.json(), { statusCode: 404, code: 'SHOW_NOT_FOUND' })
    const bad = await fetch(`${base}/api/shows/nope/seats/events`)
    t.equal(bad.status, 400)
    t.match(await bad.json(), { statusCode: 400, code: 'VALIDATION_ERROR' })
    const json = await fetch(`${base}/api/shows/${show.id}/seats/events`, { headers: { accept: 'application/json' } })
    t.equal(json.status, 200, 'a client asking for JSON still gets the stream (no 406 outside the contract)')
    await json.body?.cancel()
  })

  t.test('OpenAPI documents the stream', async (t) => {
    const doc = json<{ paths: Record<string, Record<string, { parameters?: Array<{ name: string, in: string }>, responses: Record<string, { content?: Record<string, unknown> }> }>> }>(
      await app.inject({ method: 'GET', url: '/docs/json' }))
    const op = doc.paths['/api/shows/{id}/seats/events']?.get
    t.ok(op?.responses['200']?.content?.['text/event-stream'] !== undefined, 'text/event-stream')
    t.ok(op?.parameters?.some((p) => p.in === 'header' && p.name === 'last-event-id'), 'Last-Event-ID')
    for (const code of ['404', '429', '503']) t.ok(op?.responses[code] !== undefined, `${code} documented`)
    const text = JSON.stringify(doc)
    for (const name of ['SeatSnapshotEvent', 'SeatChangesEvent', 'ShowStatusEvent']) t.match(text, name, `${name} schema`)
  })

  t.test('metrics: open streams and events sent', async (t) => {
    const stream = open(base, show.id)
    t.teardown(() => stream.close())
    await stream.until('the snapshot', () => stream.events.length > 0)
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    t.match(text, /^modex_live_streams [1-9]/m, 'open streams')
    t.match(text, /^modex_live_events_sent_total\{event="snapshot"\} [1-9]/m, 'events sent')
    t.match(text, /^modex_live_dropped_slow_clients_total \d/m, 'dropped slow clients')
    t.match(text, /^modex_live_lag_seconds_count \d/m, 'lag')
  })
})

t.test('limits: MAX_STREAMS answers 503 OVERLOADED, MAX_STREAMS_PER_CLIENT 429 RATE_LIMITED, before the stream starts', async (t) => {
  for (const [env, status, code] of [[{ MAX_STREAMS: '2' }, 503, 'OVERLOADED'], [{ MAX_STREAMS_PER_CLIENT: '2' }, 429, 'RATE_LIMITED']] as const) {
    const app = await buildTestApp(t, env)
    const base = await listen(app)
    const show = await createShow(app)
    const streams = [open(base, show.id), open(base, show.id)]
    t.teardown(() => { for (const s of streams) s.close() })
    for (const s of streams) await s.until('a snapshot', () => s.events.length > 0)
    const third = open(base, show.id)
    await third.done
    t.equal(third.status, status, `${code}: status`)
    t.match(third.errorBody, { statusCode: status, code }, `${code}: the contract body`)
    t.ok(third.headers?.get('retry-after') !== null, `${code}: Retry-After`)
    streams[0].close()
    await streams[0].done
    const again = open(base, show.id)
    t.teardown(() => again.close())
    await again.until('a stream once a slot is free', () => again.events.length > 0)
    t.pass(`${code}: a closed stream frees its slot`)
  }
})

t.test('shutdown ends the streams, and closing does not wait for them', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  const show = await createShow(app)
  const streams = [open(base, show.id), open(base, show.id)]
  for (const s of streams) await s.until('a snapshot', () => s.events.length > 0)
  await app.close()
  await Promise.all(streams.map(async (s) => await s.done))
  t.ok(streams.every((s) => s.ended), 'every stream ended when the app closed')
})
