// A show's seat map kept live: the Server-Sent Events stream of shared/API.md (*Live seat
// maps*), which EventSource reconnects and resumes by itself (Last-Event-ID). Where the stream
// is refused for good (a server without it answers 404; 429/503 when it is full), the map is
// polled every 2 s instead, revalidated with the seat map's ETag, and the stream is tried again
// now and then.
import { ApiError, api, unwrap } from './api/client.js'

/** @typedef {import('./api/types').Seat} Seat */
/** @typedef {import('./api/types').SeatCounts} SeatCounts */
/** @typedef {import('./api/types').SeatChange} SeatChange */
/** @typedef {'connecting' | 'live' | 'reconnecting' | 'polling'} LiveMode */

const POLL_MS = 2000
const STREAM_RETRY_MS = 30_000

/**
 * @param {string} showId
 * @param {{
 *   map: (seats: Seat[], counts: SeatCounts) => void,
 *   changes: (changes: SeatChange[], counts: SeatCounts | undefined) => void,
 *   showStatus: (status: string) => void,
 *   mode: (mode: LiveMode) => void,
 *   failed: (error: unknown) => void
 * }} on
 * @returns {() => void} stops watching
 */
export function watchSeats (showId, on) {
  let stopped = false
  /** @type {EventSource | null} */
  let stream = null
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer

  const load = async () => {
    try {
      const map = await unwrap(api.GET('/api/shows/{id}/seats', { params: { path: { id: showId } }, cache: 'no-cache' }))
      if (!stopped) on.map(map.seats, map.counts)
    } catch (error) {
      if (stopped) return
      on.failed(error)
      // No such show: nothing will ever change, so stop asking.
      if (error instanceof ApiError && error.status === 404) stopped = true
    }
  }

  const poll = () => {
    if (stopped) return
    on.mode('polling')
    const startedAt = Date.now()
    const tick = async () => {
      if (stopped) return
      await load()
      if (Date.now() - startedAt > STREAM_RETRY_MS) openStream()
      else timer = setTimeout(() => { void tick() }, POLL_MS)
    }
    timer = setTimeout(() => { void tick() }, POLL_MS)
  }

  const openStream = () => {
    if (stopped) return
    on.mode('connecting')
    const source = new EventSource(`/api/shows/${encodeURIComponent(showId)}/seats/events`)
    stream = source
    source.addEventListener('open', () => on.mode('live'))
    source.addEventListener('snapshot', (event) => {
      const snapshot = JSON.parse(/** @type {MessageEvent<string>} */ (event).data)
      on.map(snapshot.seats, snapshot.counts)
      if (typeof snapshot.show?.status === 'string') on.showStatus(snapshot.show.status)
    })
    source.addEventListener('seats', (event) => {
      const batch = JSON.parse(/** @type {MessageEvent<string>} */ (event).data)
      on.changes(batch.changes, batch.counts)
    })
    source.addEventListener('show', (event) => {
      const data = JSON.parse(/** @type {MessageEvent<string>} */ (event).data)
      on.showStatus(data.status)
    })
    source.addEventListener('error', () => {
      if (stopped) return
      // CONNECTING: the browser is reconnecting and will resume after the last event it saw.
      // CLOSED: the server refused the stream (not there, full, rate limited): poll instead.
      if (source.readyState === EventSource.CONNECTING) {
        on.mode('reconnecting')
        return
      }
      source.close()
      stream = null
      poll()
    })
  }

  // The map first, from the plain endpoint: it shows at once, and it is the whole map when
  // the stream is not there.
  void load().then(openStream)

  return () => {
    stopped = true
    clearTimeout(timer)
    stream?.close()
  }
}
