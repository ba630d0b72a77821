import fp from 'fastify-plugin'
import type { Types } from 'mongoose'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import type { Models } from '../models/index.js'
import { createBookingService, type BookingService } from '../services/booking-service.js'
import { createIdempotency } from '../services/idempotency.js'
import { createMovieService, type MovieService } from '../services/movie-service.js'
import { createSeatMapCache, seatMapCacheReader, type SeatMapCache } from '../services/seat-map-cache.js'
import { createShowService, type ShowService } from '../services/show-service.js'
import { createBookableShowCache, type BookableShowCache, type BookableShowDoc } from '../services/bookable-show-cache.js'
import { createUserService, type UserService } from '../services/user-service.js'
import { createSessionService, type SessionService } from '../services/session-service.js'
import { expireHoldJobName, type ExpireHoldData } from '../jobs/expire-hold.js'

export interface Services { bookings: BookingService, shows: ShowService, movies: MovieService, users: UserService, sessions: SessionService, seatMaps: SeatMapCache, bookableShows: BookableShowCache }

declare module 'fastify' {
  interface FastifyInstance { services: Services }
}

/**
 * What holds need of a show, from memory: the document for SHOW_CACHE_MAX_AGE_MS (or until this
 * instance or a change stream says it changed), the seat index for good. Through the driver:
 * no casting or hydration on the hot path.
 */
export function bookableShowCacheOver (models: Models): BookableShowCache {
  return createBookableShowCache(
    async (showId) => await models.Show.collection.findOne<BookableShowDoc>({ _id: showId }, { projection: { status: 1, startTime: 1, holdSeconds: 1, priceCents: 1, name: 1, type: 1, venue: 1, rowPreference: 1, categories: 1 } }),
    async (showId) => await models.Seat.collection.find<{ _id: Types.ObjectId, label: string }>({ showId }, { projection: { label: 1 } }).toArray()
  )
}

/**
 * The business rules, wired to the models, metrics and scheduler; routes and jobs only call these.
 * Dependencies go one way: seat maps ← bookings ← shows.
 */
export default fp(async function servicesPlugin (fastify: FastifyInstance, opts: { config: Config }) {
  const { models, metrics, log } = fastify
  // Seat maps as served: read at most every SEAT_MAP_MAX_AGE_MS, this instance's own seat changes applied at once.
  const seatMaps = createSeatMapCache(seatMapCacheReader(models))
  const bookableShows = bookableShowCacheOver(models)
  const bookings = createBookingService({
    models,
    metrics,
    log,
    seatMaps,
    idempotency: createIdempotency({ models, log }),
    bookableShows,
    maxHoldExtensions: opts.config.maxHoldExtensions,
    // fastify.agenda is decorated by the agenda plugin, registered after this one.
    scheduleExpiry: async (bookingId: Types.ObjectId, at: Date) => {
      await fastify.agenda.schedule<ExpireHoldData>(at, expireHoldJobName(bookingId), { bookingId: bookingId.toHexString(), expiresAt: at.toISOString() })
    }
  })
  const sessions = createSessionService({
    models,
    log,
    refreshTokenDays: opts.config.refreshTokenDays,
    // fastify.signAccessToken is decorated by the auth plugin, registered after this one.
    signAccessToken: (user) => fastify.signAccessToken(user)
  })
  fastify.decorate('services', {
    bookings,
    shows: createShowService({ models, defaultHoldSeconds: opts.config.holdSeconds, bookings, showChanged: bookableShows.invalidate }),
    movies: createMovieService({ models }),
    users: createUserService({ models, log, endUserSessions: sessions.endUserSessions }),
    sessions,
    seatMaps,
    bookableShows
  })
}, { name: 'services', dependencies: ['mongo', 'metrics'] })
