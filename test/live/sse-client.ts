// A Server-Sent Events client for tests: node's fetch (undici) with the body parsed as the
// event-stream format says (fields, comments, blank-line dispatch, last event id).
import { setTimeout as sleep } from 'node:timers/promises'
import type { SeatChangesData, SeatSnapshotData, ShowStatusData } from '../../src/schemas/seat-events.js'

export interface SseEvent { id: string | undefined, event: string, data: string, at: number }

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'BOOKED'

export class SseStream {
  readonly events: SseEvent[] = []
  readonly comments: string[] = []
  retry: number | undefined
  /** The id EventSource would send back (the last `id:` field seen). */
  lastEventId: string | undefined
  ended = false
  endError: unknown
  status = 0
  headers: Headers | undefined
  /** The first non-200 answer's body. */
  errorBody: unknown
  private readonly controller = new AbortController()
  private waiters: Array<() => void> = []
  readonly done: Promise<void>

  constructor (readonly url: string, lastEventId?: string, headers: Record<string, string> = {}) {
    this.lastEventId = lastEventId
    this.done = this.run(lastEventId, headers)
  }

  private async run (lastEventId: string | undefined, extra: Record<string, string>): Promise<void> {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...extra }
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId
      const res = await fetch(this.url, { headers, signal: this.controller.signal })
      this.status = res.status
      this.headers = res.headers
      if (res.status !== 200 || res.body === null) {
        this.errorBody = await res.json().catch(() => undefined)
        return
      }
      const decoder = new TextDecoder()
      let text = ''
      let event: Partial<SseEvent> & { data?: string } = {}
      for await (const chunk of res.body) {
        text += decoder.decode(chunk, { stream: true })
        let nl: number
        while ((nl = text.indexOf('\n')) >= 0) {
          const line = text.slice(0, nl).replace(/\r$/, '')
          text = text.slice(nl + 1)
          if (line === '') {
            if (event.data !== undefined) {
              if (event.id !== undefined) this.lastEventId = event.id
              this.events.push({ id: event.id, event: event.event ?? 'message', data: event.data, at: Date.now() })
            } else if (event.id !== undefined) this.lastEventId = event.id
            event = {}
            this.wake()
            continue
          }
          if (line.startsWith(':')) { this.comments.push(line.slice(1).trim()); this.wake(); continue }
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`
          else if (field === 'event') event.event = value
          else if (field === 'id') event.id = value
          else if (field === 'retry') this.retry = Number(value)
        }
      }
    } catch (error) {
      this.endError = error
    } finally {
      this.ended = true
      this.wake()
    }
  }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** Waits (without a fixed sleep) until `check` holds, the stream ends, or `ms` pass. */
  async until (what: string, check: () => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!check()) {
      if (this.ended) throw new Error(`stream ended while waiting for ${what} (status ${this.status}, ${String(this.endError ?? '')})`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), sleep(Math.min(left, 250))])
    }
  }

  close (): void { this.controller.abort() }
}

export function open (base: string, showId: string, lastEventId?: string, headers?: Record<string, string>): SseStream {
  return new SseStream(`${base}/api/shows/${showId}/seats/events`, lastEventId, headers)
}

/** A client's map: the last snapshot with every later `seats` event applied. */
export interface ReplayedMap { seats: Map<string, SeatStatus>, counts: Record<string, number>, showStatus: string, snapshots: number }

export function replay (events: SseEvent[], into?: ReplayedMap): ReplayedMap {
  const map: ReplayedMap = into ?? { seats: new Map(), counts: {}, showStatus: 'SCHEDULED', snapshots: 0 }
  for (const e of events) {
    if (e.event === 'snapshot') {
      const data = JSON.parse(e.data) as SeatSnapshotData
      map.seats = new Map(data.seats.map((s) => [s.id, s.status]))
      map.counts = data.counts
      map.showStatus = data.show.status
      map.snapshots++
    } else if (e.event === 'seats') {
      const data = JSON.parse(e.data) as SeatChangesData
      for (const c of data.changes) map.seats.set(c.id, c.status)
      map.counts = data.counts
    } else if (e.event === 'show') {
      map.showStatus = (JSON.parse(e.data) as ShowStatusData).status
    }
  }
  return map
}

/** Counts of a replayed map, computed from its seats (not trusted from the events). */
export function countsOf (map: ReplayedMap): Record<SeatStatus, number> {
  const counts = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
  for (const s of map.seats.values()) counts[s]++
  return counts
}
