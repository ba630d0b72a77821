import fp from 'fastify-plugin'
import { Types } from 'mongoose'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { createBookingService, type BookingService } from '../services/booking-service.js'
import { createMovieService, type MovieService } from '../services/movie-service.js'
import { createShowService, type ShowService } from '../services/show-service.js'
import { createUserService, type UserService } from '../services/user-service.js'
import { createSessionService, type SessionService } from '../services/session-service.js'
import { EXPIRE_HOLD, type ExpireHoldData } from '../jobs/expire-hold.js'

export interface Services { bookings: BookingService, shows: ShowService, movies: MovieService, users: UserService, sessions: SessionService }

declare module 'fastify' {
  interface FastifyInstance { services: Services }
}

/** The business rules, wired to the models, metrics and scheduler; routes and jobs only call these. */
export default fp(async function servicesPlugin (fastify: FastifyInstance, opts: { config: Config }) {
  const { models, metrics, log } = fastify
  // Each needs the other: shows cancel bookings, bookings report seat changes to the shows' seat-map cache.
  const shows: ShowService = createShowService({
    models,
    defaultHoldSeconds: opts.config.holdSeconds,
    cancelShowBookings: async (showId) => await bookings.cancelShowBookings(showId)
  })
  const bookings = createBookingService({
    models,
    metrics,
    log,
    maxSeatsPerBooking: opts.config.maxSeatsPerBooking,
    crashAt: opts.config.crashAt,
    seatsChanged: (showId, seatIds, status) => { shows.seatsChanged(showId, seatIds, status) },
    // fastify.agenda is decorated by the agenda plugin, registered after this one.
    scheduleExpiry: async (bookingId: Types.ObjectId, at: Date) => {
      await fastify.agenda.schedule<ExpireHoldData>(at, EXPIRE_HOLD, { bookingId: bookingId.toHexString(), expiresAt: at.toISOString() })
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
    shows,
    movies: createMovieService({ models }),
    users: createUserService({ models, log, endUserSessions: sessions.endUserSessions }),
    sessions
  })
}, { name: 'services', dependencies: ['mongo', 'metrics'] })
