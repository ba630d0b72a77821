// The live seat-map phase of the benchmark: thousands of SSE subscribers over the instances,
// kept cheap on the client side (this process shares the machine with the service): raw
// node:http sockets, frames cut on blank lines as bytes, and each distinct frame parsed once
// (every subscriber of an instance receives the same encoded frame) after the sale, not during it.
import http from 'node:http'
import type { Db } from 'mongodb'
import { mapLimit, progress } from './http.js'

type Status = 'AVAILABLE' | 'HELD' | 'BOOKED'
interface Arrival { key: string, at: number }

interface Subscriber {
  instance: number
  arrivals: Arrival[]
  pending: Buffer | undefined
  request: http.ClientRequest
  ended: boolean
}

interface ParsedFrame {
  event: string
  /** snapshot: every seat; seats: the seats that changed */
  seats: Array<{ id: string, status: Status }>
  firstAt: number
}

const BLANK_LINE = Buffer.from('\n\n')

export interface Subscribers {
  count: () => number
  /** Subscribers whose stream ended early (dropped, refused). */
  ended: () => number
  close: () => void
  /** Every subscriber's map (its snapshot with every later event applied), compared with `final`. */
  missedChanges: (final: Map<string, Status>) => number
  /** Per (subscriber, event): arrival − the commit of the event's oldest change (ms). */
  lags: (commits: CommitLog) => number[]
}

/** Opens `n` streams on `bases` in turn; resolves once each has its first event. */
export async function openSubscribers (bases: string[], showId: string, n: number): Promise<Subscribers> {
  const frames = new Map<string, Buffer>()
  const subscribers: Subscriber[] = []

  function onFrame (sub: Subscriber, frame: Buffer, at: number): void {
    // Comments (keep-alive) and the retry advice carry no data.
    if (frame[0] === 0x3a || frame.indexOf('data:') < 0) return
    const key = `${sub.instance}:${frame.length}:${frame.subarray(0, Math.min(frame.length, 64)).toString('latin1')}`
    if (!frames.has(key)) frames.set(key, frame)
    sub.arrivals.push({ key, at })
  }

  async function open (instance: number): Promise<Subscriber> {
    return await new Promise<Subscriber>((resolve, reject) => {
      const request = http.get(`${bases[instance]}/api/shows/${showId}/seats/events`, { agent: false, headers: { accept: 'text/event-stream' } })
      const sub: Subscriber = { instance, arrivals: [], pending: undefined, request, ended: false }
      request.on('response', (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`stream refused: ${res.statusCode ?? '?'}`))
          res.resume()
          return
        }
        res.on('data', (chunk: Buffer) => {
          const at = Date.now()
          let buf = sub.pending === undefined ? chunk : Buffer.concat([sub.pending, chunk])
          let end: number
          while ((end = buf.indexOf(BLANK_LINE)) >= 0) {
            onFrame(sub, buf.subarray(0, end), at)
            buf = buf.subarray(end + 2)
          }
          // A partial frame is copied out, so the chunk it came from can be freed.
          sub.pending = buf.length > 0 ? Buffer.from(buf) : undefined
          if (sub.arrivals.length === 1) resolve(sub)
        })
        res.on('end', () => { sub.ended = true })
        res.on('error', () => { sub.ended = true })
      })
      request.on('error', (error) => {
        sub.ended = true
        reject(error)
      })
    })
  }

  await mapLimit(Array.from({ length: n }, (_, i) => i % bases.length), 50, async (instance) => {
    subscribers.push(await open(instance))
  }, (done) => { if (done % 100 === 0) progress(`  subscribers connected ${done}/${n}`) })

  const parsed = new Map<string, ParsedFrame>()
  function parse (key: string, firstAt: number): ParsedFrame {
    let frame = parsed.get(key)
    if (frame === undefined) {
      const text = (frames.get(key) as Buffer).toString('utf8')
      const event = /^event: (.*)$/m.exec(text)?.[1] ?? 'message'
      const data = JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? '{}') as { seats?: Array<{ id: string, status: Status }>, changes?: Array<{ id: string, status: Status }> }
      frame = { event, seats: data.seats ?? data.changes ?? [], firstAt }
      parsed.set(key, frame)
    }
    frame.firstAt = Math.min(frame.firstAt, firstAt)
    return frame
  }

  return {
    count: () => subscribers.length,
    ended: () => subscribers.filter((s) => s.ended).length,
    close: () => { for (const s of subscribers) s.request.destroy() },
    missedChanges (final) {
      let missed = 0
      for (const sub of subscribers) {
        const map = new Map<string, Status>()
        for (const a of sub.arrivals) {
          const frame = parse(a.key, a.at)
          if (frame.event === 'snapshot') map.clear()
          if (frame.event === 'snapshot' || frame.event === 'seats') for (const s of frame.seats) map.set(s.id, s.status)
        }
        for (const [id, status] of final) if (map.get(id) !== status) missed++
      }
      return missed
    },
    lags (commits) {
      // The commit of each event's oldest change, found once per distinct event.
      const oldest = new Map<string, number | undefined>()
      const lags: number[] = []
      for (const sub of subscribers) for (const a of sub.arrivals) parse(a.key, a.at)
      for (const sub of subscribers) {
        for (const a of sub.arrivals) {
          const frame = parse(a.key, a.at)
          if (frame.event !== 'seats') continue
          if (!oldest.has(a.key)) oldest.set(a.key, Math.min(...frame.seats.map((s) => commits.committedAt(s.id, s.status, frame.firstAt))))
          const committed = oldest.get(a.key)
          if (committed !== undefined && Number.isFinite(committed)) lags.push(Math.max(0, a.at - committed))
        }
      }
      return lags
    }
  }
}

export interface CommitLog {
  /** When the seat last became `status` at or before `before` (the database's wall clock, ms). */
  committedAt: (seatId: string, status: Status, before: number) => number
  stop: () => Promise<void>
}

/** The commit times of seat status changes, from a change stream of the benchmark's own. */
export async function watchCommits (db: Db): Promise<CommitLog> {
  const bySeat = new Map<string, Array<{ at: number, status: Status }>>()
  const ping = await db.command({ ping: 1 })
  const stream = db.collection('seats').watch([
    { $match: { operationType: 'update', 'updateDescription.updatedFields.status': { $exists: true } } },
    { $project: { documentKey: 1, wallTime: 1, 'updateDescription.updatedFields.status': 1 } }
  ], { startAtOperationTime: ping.operationTime })
  stream.on('change', (change: { documentKey?: { _id?: { toHexString?: () => string } }, wallTime?: Date, updateDescription?: { updatedFields?: { status?: Status } } }) => {
    const id = change.documentKey?._id?.toHexString?.()
    const status = change.updateDescription?.updatedFields?.status
    if (id === undefined || status === undefined) return
    const list = bySeat.get(id) ?? []
    list.push({ at: change.wallTime?.getTime() ?? Date.now(), status })
    bySeat.set(id, list)
  })
  stream.on('error', () => undefined)
  return {
    committedAt (seatId, status, before) {
      const list = bySeat.get(seatId) ?? []
      for (let k = list.length - 1; k >= 0; k--) if (list[k].status === status && list[k].at <= before) return list[k].at
      return Number.POSITIVE_INFINITY
    },
    stop: async () => { await stream.close() }
  }
}
