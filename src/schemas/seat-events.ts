import { Type, type Static } from '@sinclair/typebox'
import { ObjectIdString } from './common.js'
import { SeatStatus, SeatView, ShowStatus } from './show.js'

// The live seat map's events (API.md, Live seat maps). They are written as Server-Sent Events,
// not serialised by Fastify; these schemas document them (OpenAPI) and type the tests.

const Counts = Type.Object({ AVAILABLE: Type.Integer(), HELD: Type.Integer(), BOOKED: Type.Integer() })

export const SeatSnapshotData = Type.Object({
  showId: ObjectIdString,
  seats: Type.Array(Type.Ref(SeatView)),
  counts: Counts,
  show: Type.Object({ status: ShowStatus })
}, { $id: 'SeatSnapshotEvent', title: 'SeatSnapshotEvent', description: '`event: snapshot` — the whole map, as GET /seats, and the show\'s status; replaces whatever map the client had' })
export type SeatSnapshotData = Static<typeof SeatSnapshotData>

export const SeatChangesData = Type.Object({
  showId: ObjectIdString,
  changes: Type.Array(Type.Object({ id: ObjectIdString, label: Type.String(), status: SeatStatus })),
  counts: Counts
}, { $id: 'SeatChangesEvent', title: 'SeatChangesEvent', description: '`event: seats` — seats whose status changed (absolute: applying one twice is harmless); `counts` are the show\'s counts after the batch' })
export type SeatChangesData = Static<typeof SeatChangesData>

export const ShowStatusData = Type.Object({
  showId: ObjectIdString,
  status: ShowStatus
}, { $id: 'ShowStatusEvent', title: 'ShowStatusEvent', description: '`event: show` — the show was cancelled while watched' })
export type ShowStatusData = Static<typeof ShowStatusData>

/** One message of the stream as documented: its SSE fields, `data` being the JSON payload. */
export const SeatStreamMessage = Type.Union([
  Type.Object({ id: Type.String({ description: 'opaque; send it back as Last-Event-ID to resume' }), event: Type.Literal('snapshot'), data: Type.Ref(SeatSnapshotData) }),
  Type.Object({ id: Type.String({ description: 'opaque; send it back as Last-Event-ID to resume' }), event: Type.Literal('seats'), data: Type.Ref(SeatChangesData) }),
  Type.Object({ event: Type.Literal('show'), data: Type.Ref(ShowStatusData) })
], {
  description: 'A `text/event-stream`: first `retry: 2000`, then a `snapshot` (or, resuming, the changes missed), then `seats` and `show` events as ' +
    'changes are committed through any instance; a comment line (`: heartbeat`) at least every 15 s. Each message is written as ' +
    '`id: …` / `event: …` / `data: <JSON>` lines and a blank line.'
})
