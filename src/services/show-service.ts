import { Types, trusted } from 'mongoose'
import type { Models } from '../models/index.js'
import { badRequest, notFound } from '../errors.js'
import { databaseFault } from './mongo-errors.js'
import type { Page } from '../schemas/common.js'
import type { AdminShowQuery, CreateShowBody, PublicShowQuery, Show, UpdateShowBody } from '../schemas/show.js'
import type { SeatStatus } from '../models/seat.js'
import { categoriesOf, STANDARD_CATEGORY, type ShowRecord } from '../models/show.js'
import type { BookingService } from './booking-service.js'
import { checkRowPreference, layoutSeats, priceSeats } from './seat-layout.js'

type Counts = Record<SeatStatus, number>
const noSeats = (): Counts => ({ AVAILABLE: 0, HELD: 0, BOOKED: 0 })
/** A show's seat counts, in all and per category. */
interface ShowCounts { all: Counts, byCategory: Map<string, Counts> }
const noCounts = (): ShowCounts => ({ all: noSeats(), byCategory: new Map() })

function toShow (doc: ShowRecord, { all: counts, byCategory }: ShowCounts): Show {
  return {
    id: doc._id.toString(),
    name: doc.name,
    type: doc.type,
    venue: doc.venue ?? null,
    startTime: doc.startTime.toISOString(),
    description: doc.description ?? null,
    movieId: doc.movieId?.toString() ?? null,
    durationMinutes: doc.durationMinutes ?? null,
    priceCents: doc.priceCents,
    holdSeconds: doc.holdSeconds,
    status: doc.status,
    totalSeats: doc.totalSeats,
    availableSeats: counts.AVAILABLE,
    heldSeats: counts.HELD,
    bookedSeats: counts.BOOKED,
    categories: categoriesOf(doc).map(({ name, priceCents }) => {
      const c = byCategory.get(name) ?? noSeats()
      return { name, priceCents, totalSeats: c.AVAILABLE + c.HELD + c.BOOKED, availableSeats: c.AVAILABLE }
    }),
    createdAt: doc.createdAt.toISOString()
  }
}

export interface ShowServiceOptions {
  models: Models
  defaultHoldSeconds: number
  /** The booking side, which cancels a cancelled show's bookings. */
  bookings: Pick<BookingService, 'cancelShowBookings'>
  /** Told of every change this service makes to a show, so the hold path's copy is dropped at once. */
  showChanged?: (showId: string) => void
}

export function createShowService ({ models, defaultHoldSeconds, bookings, showChanged }: ShowServiceOptions) {
  const { Show, Seat, Movie } = models

  /** Seat counts per show and category, derived from the seats themselves (never kept by hand). */
  async function countSeats (showIds: Types.ObjectId[]): Promise<Map<string, ShowCounts>> {
    const counts = new Map<string, ShowCounts>(showIds.map((id) => [id.toString(), noCounts()]))
    if (showIds.length === 0) return counts
    const rows = await Seat.aggregate<{ _id: { showId: Types.ObjectId, category: string, status: SeatStatus }, n: number }>([
      { $match: { showId: { $in: showIds } } },
      // Seats stored before categories have none: they are STANDARD.
      { $group: { _id: { showId: '$showId', category: { $ifNull: ['$category', STANDARD_CATEGORY] }, status: '$status' }, n: { $sum: 1 } } }
    ])
    for (const row of rows) {
      const c = counts.get(row._id.showId.toString())
      if (c === undefined) continue
      c.all[row._id.status] += row.n
      const perCategory = c.byCategory.get(row._id.category) ?? noSeats()
      perCategory[row._id.status] += row.n
      c.byCategory.set(row._id.category, perCategory)
    }
    return counts
  }

  async function withCounts (docs: ShowRecord[]): Promise<Show[]> {
    const counts = await countSeats(docs.map((d) => d._id))
    return docs.map((d) => toShow(d, counts.get(d._id.toString()) ?? noCounts()))
  }

  async function findShow (id: string): Promise<ShowRecord> {
    const doc = await Show.findById(id).lean<ShowRecord>()
    if (doc === null) throw notFound('SHOW_NOT_FOUND', `show ${id} does not exist`)
    return doc
  }

  function futureDate (value: string, field: string): Date {
    const date = new Date(value)
    if (!(date.getTime() > Date.now())) throw badRequest('VALIDATION_ERROR', `body/${field} must be in the future`)
    return date
  }

  async function createShow (body: CreateShowBody): Promise<Show> {
    const startTime = futureDate(body.startTime, 'startTime')
    if (body.movieId !== undefined && await Movie.exists({ _id: body.movieId }) === null) {
      throw notFound('MOVIE_NOT_FOUND', `movie ${body.movieId} does not exist`)
    }
    // Everything is checked before anything is written: a refused show leaves nothing behind.
    const layout = layoutSeats(body.seating)
    const rowPreference = checkRowPreference(layout, body.seating)
    const priceCents = body.priceCents ?? 0
    const { seats: specs, categories } = priceSeats(layout, body.categories ?? [], priceCents)
    // The seats first, the show last: a show is never visible (listed, bookable) before all its
    // seats are there. Otherwise a hold by label or id during the insert, on an instance that read
    // the show's seat index then, would be refused for the missing seats as long as that index is
    // kept; and a crash in between would leave a bookable show with missing seats. Seats whose
    // show never got written belong to nothing anyone can see (no listing, hold, count or sweep
    // reaches them).
    const showId = new Types.ObjectId()
    try {
      // One bulk insert; lean skips per-document hydration of thousands of seats.
      await Seat.insertMany(specs.map((s) => ({ ...s, showId, status: 'AVAILABLE', bookingId: null, heldUntil: null })), { lean: true })
    } catch (error) {
      await Seat.deleteMany({ showId }).catch(() => undefined)
      throw error
    }
    let show: ShowRecord
    try {
      show = (await Show.create({
        _id: showId,
        name: body.name,
        type: body.type,
        venue: body.venue ?? null,
        startTime,
        description: body.description ?? null,
        movieId: body.movieId ?? null,
        durationMinutes: body.durationMinutes ?? null,
        holdSeconds: body.holdSeconds ?? defaultHoldSeconds,
        priceCents,
        totalSeats: specs.length,
        rowPreference,
        categories
      })).toObject() as ShowRecord
    } catch (error) {
      // The insert may have landed with its reply lost: then the show is whole, and created.
      const landed = await Show.findById(showId).lean<ShowRecord>().catch(() => undefined)
      if (landed === null || landed === undefined) {
        // Seats are given back only when the show surely did not land: the look found nothing
        // and the insert was refused, not cut off (which might land yet). Otherwise they stay,
        // seen by no one.
        if (landed === null && databaseFault(error) === undefined) await Seat.deleteMany({ showId }).catch(() => undefined)
        throw error
      }
      show = landed
    }
    const byCategory = new Map<string, Counts>()
    for (const seat of specs) {
      const c = byCategory.get(seat.category) ?? noSeats()
      c.AVAILABLE++
      byCategory.set(seat.category, c)
    }
    return toShow(show, { all: { ...noSeats(), AVAILABLE: specs.length }, byCategory })
  }

  async function getShow (id: string): Promise<Show> {
    const [show] = await withCounts([await findShow(id)])
    return show
  }

  async function listAdminShows (query: AdminShowQuery): Promise<Page<Show>> {
    const filter: Record<string, unknown> = {}
    if (query.status !== undefined) filter.status = query.status
    if (query.type !== undefined) filter.type = query.type
    return page(filter, { startTime: 1, _id: 1 }, query.limit, query.offset)
  }

  async function listPublicShows (query: PublicShowQuery): Promise<Page<Show>> {
    const now = new Date()
    const from = query.from !== undefined && new Date(query.from) > now ? new Date(query.from) : now
    const startTime: Record<string, Date> = { $gt: from }
    if (query.to !== undefined) startTime.$lte = new Date(query.to)
    const filter: Record<string, unknown> = { status: 'SCHEDULED', startTime: trusted(startTime) }
    if (query.type !== undefined) filter.type = query.type
    if (query.movieId !== undefined) filter.movieId = new Types.ObjectId(query.movieId)
    return page(filter, { startTime: 1, _id: 1 }, query.limit, query.offset)
  }

  async function page (filter: Record<string, unknown>, sort: Record<string, 1 | -1>, limit: number, offset: number): Promise<Page<Show>> {
    const [docs, total] = await Promise.all([
      Show.find(filter).sort(sort).skip(offset).limit(limit).lean<ShowRecord[]>(),
      Show.countDocuments(filter)
    ])
    return { items: await withCounts(docs), total, limit, offset }
  }

  async function updateShow (id: string, body: UpdateShowBody): Promise<Show> {
    const set: Record<string, unknown> = {}
    if (body.name !== undefined) set.name = body.name
    if (body.venue !== undefined) set.venue = body.venue
    if (body.description !== undefined) set.description = body.description
    if (body.startTime !== undefined) set.startTime = futureDate(body.startTime, 'startTime')
    const doc = await Show.findByIdAndUpdate(id, { $set: set }, { returnDocument: 'after' }).lean<ShowRecord>()
    if (doc === null) throw notFound('SHOW_NOT_FOUND', `show ${id} does not exist`)
    showChanged?.(id)
    const [show] = await withCounts([doc])
    return show
  }

  /** The show stops being bookable first, so no new hold starts; then its live bookings are cancelled. */
  async function cancelShow (id: string): Promise<Show> {
    const doc = await Show.findByIdAndUpdate(id, { $set: { status: 'CANCELLED', cancelPending: true } }, { returnDocument: 'after' }).lean<ShowRecord>()
    if (doc === null) throw notFound('SHOW_NOT_FOUND', `show ${id} does not exist`)
    // Before its bookings are cancelled: from here on this instance takes no hold for it.
    showChanged?.(id)
    await bookings.cancelShowBookings(doc._id)
    const [show] = await withCounts([doc])
    return show
  }

  return { createShow, getShow, listAdminShows, listPublicShows, updateShow, cancelShow, findShow }
}
export type ShowService = ReturnType<typeof createShowService>
