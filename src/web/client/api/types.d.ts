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

export type DocumentedHoldRequest = JsonBody<Paths['/api/shows/{id}/bookings']['post']>
/** A hold: chosen seats, or best available (`quantity`, `category?`, `adjacent?`). */
export type HoldRequest = DocumentedHoldRequest | { quantity: number, category?: string, adjacent?: boolean }

/** POST /api/admin/shows, with the categories and row preference of shared/API.md. */
export type CreateShowRequest = Omit<JsonBody<Paths['/api/admin/shows']['post']>, 'seating' | 'venue'> & {
  venue?: string
  seating: { totalSeats: number, seatsPerRow?: number, rowPreference?: string[] } | { labels: string[] }
  categories?: Array<{ name: string, priceCents: number, rows?: string[], labels?: string[] }>
}
