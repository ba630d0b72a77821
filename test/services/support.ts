import type { FastifyInstance } from 'fastify'
import type { Types } from 'mongoose'
import { createBookingService, type BookingService } from '../../src/services/booking-service.js'
import { createSeatMapCache, seatMapCacheReader, type SeatMapCache } from '../../src/services/seat-map-cache.js'
import type { BookableShowCache } from '../../src/services/bookable-show-cache.js'
import { createIdempotency } from '../../src/services/idempotency.js'
import { bookableShowCacheOver } from '../../src/plugins/services.js'

/**
 * A booking service over the test app's models, wired as the app wires its own, with the seat
 * map's ages and the expiry scheduler chosen by the test (the app's: 1 s, and Agenda).
 * `mapReads` lists the show of every seat-map read its cache starts, as it starts.
 */
export function bookingServiceOver (app: FastifyInstance, opts: { seatMapMaxAgeMs: number, seatMapHardMaxAgeMs: number, scheduleExpiry: (bookingId: Types.ObjectId, at: Date) => Promise<void> }): { bookings: BookingService, seatMaps: SeatMapCache, bookableShows: BookableShowCache, mapReads: string[] } {
  const { models, metrics, log } = app
  const read = seatMapCacheReader(models)
  const mapReads: string[] = []
  const seatMaps = createSeatMapCache(async (showId) => { mapReads.push(showId); return await read(showId) }, opts.seatMapMaxAgeMs, opts.seatMapHardMaxAgeMs)
  const bookableShows = bookableShowCacheOver(models)
  const bookings = createBookingService({
    models, metrics, log, seatMaps, bookableShows,
    idempotency: createIdempotency({ models, log }),
    maxHoldExtensions: 2,
    scheduleExpiry: opts.scheduleExpiry
  })
  return { bookings, seatMaps, bookableShows, mapReads }
}
