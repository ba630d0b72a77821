import { Type, type Static } from '@sinclair/typebox'
import { SHOW_STATUSES, SHOW_TYPES } from '../models/show.js'
import { SEAT_STATUSES } from '../models/seat.js'
import { DateTime, ListOf, Nullable, ObjectIdString, Pagination } from './common.js'

// The enums are declared once, beside the models that store them.
export const ShowType = Type.Union(SHOW_TYPES.map((type) => Type.Literal(type)))
export const ShowStatus = Type.Union(SHOW_STATUSES.map((status) => Type.Literal(status)))
export const SeatStatus = Type.Union(SEAT_STATUSES.map((status) => Type.Literal(status)))

export const Show = Type.Object({
  id: ObjectIdString,
  name: Type.String(),
  type: ShowType,
  venue: Nullable(Type.String()),
  startTime: DateTime,
  description: Nullable(Type.String()),
  movieId: Nullable(ObjectIdString),
  durationMinutes: Nullable(Type.Integer()),
  priceCents: Type.Integer(),
  holdSeconds: Type.Integer(),
  status: ShowStatus,
  totalSeats: Type.Integer(),
  availableSeats: Type.Integer(),
  heldSeats: Type.Integer(),
  bookedSeats: Type.Integer(),
  categories: Type.Array(Type.Object({
    name: Type.String(),
    priceCents: Type.Integer(),
    totalSeats: Type.Integer(),
    availableSeats: Type.Integer()
  }), { description: 'the categories the seats are sold in, with their prices; seats no category names are STANDARD at the show\'s priceCents' }),
  createdAt: DateTime
}, { $id: 'Show', title: 'Show' })
export type Show = Static<typeof Show>
export const ShowList = ListOf(Type.Ref(Show), 'Show')

const Name = Type.String({ minLength: 1, maxLength: 200 })
const Venue = Type.String({ minLength: 1, maxLength: 200 })
const Description = Type.String({ maxLength: 5000 })

const MAX_SEATS_PER_SHOW = 5000
export const Seating = Type.Union([
  Type.Object({
    totalSeats: Type.Integer({ minimum: 1, maximum: MAX_SEATS_PER_SHOW }),
    seatsPerRow: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEATS_PER_SHOW, description: 'default 10' })),
    rowPreference: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 8 }), {
      maxItems: MAX_SEATS_PER_SHOW,
      uniqueItems: true,
      description: 'rows in the order best available tries them; rows not listed follow in seat order'
    }))
  }, { additionalProperties: false, title: 'GeneratedSeating', description: 'Seats generated row by row: A1 A2 … then B1 …; rows past Z continue AA, AB, …' }),
  Type.Object({
    labels: Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { minItems: 1, maxItems: MAX_SEATS_PER_SHOW, uniqueItems: true })
  }, { additionalProperties: false, title: 'LabelledSeating', description: 'One seat per label, in this order (appointment slots, berths)' })
])
export type Seating = Static<typeof Seating>

export const MAX_CATEGORIES = 20
export const CategoryName = Type.String({ pattern: '^[A-Z0-9_]{1,32}$', description: '1–32 characters, A–Z 0–9 _' })
export const CategorySpec = Type.Object({
  name: CategoryName,
  priceCents: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
  rows: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 8 }), { minItems: 1, maxItems: MAX_SEATS_PER_SHOW, uniqueItems: true, description: 'generated seating: the rows this category covers' })),
  labels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { minItems: 1, maxItems: MAX_SEATS_PER_SHOW, uniqueItems: true, description: 'the seats this category covers, by label' }))
}, { additionalProperties: false, description: 'exactly one of rows or labels; a seat belongs to the first category that names it' })
export type CategorySpec = Static<typeof CategorySpec>

export const CreateShowBody = Type.Object({
  name: Name,
  type: ShowType,
  startTime: Type.String({ format: 'date-time', description: 'must be in the future' }),
  venue: Type.Optional(Venue),
  movieId: Type.Optional(ObjectIdString),
  description: Type.Optional(Description),
  durationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  holdSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 1800, description: 'overrides HOLD_SECONDS for this show' })),
  priceCents: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, default: 0 })),
  seating: Seating,
  categories: Type.Optional(Type.Array(CategorySpec, { maxItems: MAX_CATEGORIES }))
}, {
  additionalProperties: false,
  // Whole bodies, as /docs and generated clients show them; test/routes/openapi.test.ts creates each.
  'x-examples': {
    screening: {
      summary: 'A screening: seats generated in rows of 12',
      value: {
        name: 'Dune: Part Two', type: 'MOVIE', startTime: '2030-03-14T19:30:00.000Z', venue: 'Screen 1',
        description: 'Original version, English subtitles', durationMinutes: 166, priceCents: 1250,
        seating: { totalSeats: 120, seatsPerRow: 12, rowPreference: ['F', 'G', 'E', 'H'] },
        categories: [{ name: 'PREMIUM', priceCents: 1800, rows: ['F', 'G'] }, { name: 'ACCESSIBLE', priceCents: 900, labels: ['A1', 'A2'] }]
      }
    },
    coach: {
      summary: 'A coach trip: 48 seats in rows of 4, holds of 5 minutes',
      value: {
        name: 'Night coach to Edinburgh', type: 'BUS', startTime: '2030-03-14T22:45:00.000Z', venue: 'Victoria Coach Station, bay 9',
        durationMinutes: 540, holdSeconds: 300, priceCents: 2900, seating: { totalSeats: 48, seatsPerRow: 4 }
      }
    },
    appointments: {
      summary: 'Appointment slots: one seat per label',
      value: {
        name: 'Dr. Okafor: Tuesday clinic', type: 'DOCTOR', startTime: '2030-03-12T09:00:00.000Z', venue: 'Room 4',
        holdSeconds: 600, seating: { labels: ['09:00', '09:15', '09:30', '09:45', '10:00', '10:15'] }
      }
    }
  }
})
export type CreateShowBody = Static<typeof CreateShowBody>

export const UpdateShowBody = Type.Object({
  name: Type.Optional(Name),
  startTime: Type.Optional(Type.String({ format: 'date-time' })),
  venue: Type.Optional(Venue),
  description: Type.Optional(Description)
}, { additionalProperties: false, minProperties: 1 })
export type UpdateShowBody = Static<typeof UpdateShowBody>

export const AdminShowQuery = Type.Object({
  status: Type.Optional(ShowStatus),
  type: Type.Optional(ShowType),
  ...Pagination
}, { additionalProperties: false })
export type AdminShowQuery = Static<typeof AdminShowQuery>

export const PublicShowQuery = Type.Object({
  type: Type.Optional(ShowType),
  movieId: Type.Optional(ObjectIdString),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  ...Pagination
}, { additionalProperties: false })
export type PublicShowQuery = Static<typeof PublicShowQuery>

export const SeatView = Type.Object({
  id: ObjectIdString,
  label: Type.String(),
  row: Nullable(Type.String()),
  number: Type.Integer(),
  category: Type.String(),
  priceCents: Type.Integer(),
  status: SeatStatus
}, { $id: 'Seat', title: 'Seat' })
export type SeatView = Static<typeof SeatView>

export const SeatMap = Type.Object({
  showId: ObjectIdString,
  seats: Type.Array(Type.Ref(SeatView)),
  counts: Type.Object({ AVAILABLE: Type.Integer(), HELD: Type.Integer(), BOOKED: Type.Integer() })
}, { $id: 'SeatMap', title: 'SeatMap' })
export type SeatMap = Static<typeof SeatMap>
