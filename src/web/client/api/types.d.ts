// Names for the generated API types (schema.d.ts), plus the fields of shared/API.md that an
// older server may not send yet: the client reads them as optional and copes without them.
import type { components } from './schema'

type Schemas = components['schemas']

export interface Category { name: string, priceCents: number, totalSeats?: number, availableSeats?: number }

export type User = Schemas['User']
export type Session = Schemas['Session']
export type Show = Schemas['Show'] & { categories?: Category[], venue: string | null }
export type ShowList = Schemas['ShowList']
export type Seat = Schemas['Seat'] & { category?: string, priceCents?: number }
export type SeatStatus = Seat['status']
export type SeatCounts = Schemas['SeatMap']['counts']
export type BookedSeat = Schemas['Booking']['seats'][number] & { category?: string, priceCents?: number }
export type Booking = Omit<Schemas['Booking'], 'seats' | 'show' | 'extensions'> & {
  seats: BookedSeat[]
  show?: { name: string, type: string, venue: string | null, startTime: string }
  extensions?: number
}
export type ErrorBody = Schemas['Error']

/** What the live seat map stream sends (shared/API.md, Live seat maps). */
export interface SeatChange { id: string, label: string, status: SeatStatus }

type Paths = import('./schema').paths
type JsonBody<T> = T extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never

/** A hold: chosen seats (`seatIds` or `seatLabels`), or best available (`quantity`, `category?`, `adjacent?`). */
export type HoldRequest = JsonBody<Paths['/api/shows/{id}/bookings']['post']>

/** POST /api/admin/shows: seating generated (rows, row preference) or labelled, and categories. */
export type CreateShowRequest = JsonBody<Paths['/api/admin/shows']['post']>
