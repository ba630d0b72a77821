import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bearerAuth, errors, IdParams } from '../../schemas/common.js'
import { Booking, BookingList, BookingQuery, ConfirmBody, holdBody, HoldHeaders } from '../../schemas/booking.js'

/** Holds, confirmations and cancellations: signed-in users, their own bookings only. */
const bookingRoutes: FastifyPluginAsyncTypebox<{ maxSeatsPerBooking: number }> = async (fastify, opts) => {
  fastify.addHook('onRequest', fastify.authenticate)
  fastify.addHook('onRoute', (route) => { route.schema = { ...route.schema, tags: ['bookings'], security: bearerAuth } })
  const { bookings } = fastify.services

  fastify.post('/shows/:id/bookings', {
    config: { rateLimit: fastify.holdRateLimit },
    schema: {
      summary: 'Hold seats: all of them or none; named, or best available',
      description: 'Exactly one of seatIds, seatLabels or { quantity, category?, adjacent? } (best available: the service chooses, ' +
        'adjacent seats of one row by default, rows in the show\'s rowPreference then seat order, middle of the row first, no single seat stranded when avoidable; ' +
        '400 UNKNOWN_CATEGORY; 409 SEATS_UNAVAILABLE with details.available when not enough suitable seats are free). ' +
        'Seats are held for the show\'s holdSeconds; confirm before expiresAt or the booking fails and the seats free. ' +
        'With an Idempotency-Key, repeats of the same request get the first answer again (success or refusal, kept 24 h); ' +
        'the same key with another body is 422 IDEMPOTENCY_KEY_REUSED; a repeat arriving while the first is still running waits ' +
        'for its answer, up to 10 s, then 409 IDEMPOTENCY_KEY_IN_USE.',
      params: IdParams,
      headers: HoldHeaders,
      body: holdBody(opts.maxSeatsPerBooking),
      response: {
        201: Type.Ref(Booking, { description: 'Held: a PENDING booking holding every seat asked for until its expiresAt.' }),
        ...errors({
          400: 'Also UNKNOWN_SEATS: some ids or labels are no seat of this show (`details.seats` lists them); nothing was held.',
          401: true,
          404: 'SHOW_NOT_FOUND: no show has this id.',
          409: 'SEATS_UNAVAILABLE: a seat asked for is held or booked by someone; nothing was held. `details.seats`: the labels of the seats asked for ' +
            'known taken when the hold was refused (the seat whose claim failed, and those this instance\'s seat map, at most 1 s old, shows taken; ' +
            'a seat freed elsewhere within that second may still be refused). ' +
            'SHOW_NOT_BOOKABLE: the show is cancelled or has started. IDEMPOTENCY_KEY_IN_USE: a request with this key is still running.',
          422: 'IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used with another request (another show or other seats).',
          429: 'Holds have their own, stricter limit: RATE_LIMIT / 5 a minute per user.',
          503: 'Also, for best available, OVERLOADED (Retry-After 1): fresh reads of the seat map kept showing suitable seats free, ' +
            'and other holds kept taking the chosen ones first (a 409 is answered only when a fresh read finds nothing suitable); nothing was held, ' +
            'an Idempotency-Key is released (its repeat runs afresh), and a retry can succeed. Unlike load shedding, this comes after the request\'s tries (within a few seconds).'
        })
      }
    }
  }, async (request, reply) => {
    const booking = await bookings.holdSeats(request.user.sub, request.params.id, request.body, request.headers['idempotency-key'])
    return reply.code(201).send(booking)
  })

  fastify.get('/bookings', {
    schema: {
      summary: 'Your bookings, newest first',
      description: 'The signed-in user\'s own bookings in any status (filter by status), each with its seats and a summary of its show.',
      querystring: BookingQuery,
      response: { 200: Type.Ref(BookingList, { description: 'A page of your bookings, and the total that match.' }), ...errors({ 400: true, 401: true }) }
    }
  }, async (request) => bookings.listBookings({ userId: request.user.sub }, request.query))

  fastify.get('/bookings/:id', {
    schema: {
      summary: 'One of your bookings',
      description: 'A booking of the signed-in user. Another user\'s booking answers 404, exactly as a missing one.',
      params: IdParams,
      response: {
        200: Type.Ref(Booking, { description: 'The booking as it is now.' }),
        ...errors({ 400: true, 401: true, 404: 'BOOKING_NOT_FOUND: you have no booking with this id.' })
      }
    }
  }, async (request) => bookings.getBooking(request.user.sub, request.params.id))

  fastify.post('/bookings/:id/confirm', {
    schema: {
      summary: 'Confirm a held booking (payment is simulated)',
      description: 'A PENDING booking whose hold has not expired becomes CONFIRMED and its seats BOOKED. Confirming an already CONFIRMED ' +
        'booking answers the same 200. A PENDING booking whose show has started or was cancelled is cancelled instead, its seats freed ' +
        '(409 SHOW_NOT_BOOKABLE). The body is optional: `{ paymentReference }` is kept with the booking.',
      params: IdParams,
      body: Type.Optional(ConfirmBody),
      response: {
        200: Type.Ref(Booking, { description: 'CONFIRMED: the seats are BOOKED for this booking.' }),
        ...errors({
          400: true,
          401: true,
          404: 'BOOKING_NOT_FOUND: you have no booking with this id.',
          409: 'HOLD_EXPIRED: the hold lapsed first; the booking is FAILED and its seats free. INVALID_STATE: the booking is cancelled. ' +
            'SHOW_NOT_BOOKABLE: the show has started or was cancelled; the booking is now CANCELLED and its seats AVAILABLE.'
        })
      }
    }
  }, async (request) => bookings.confirmBooking(request.user.sub, request.params.id, request.body?.paymentReference))

  fastify.post('/bookings/:id/extend', {
    schema: {
      summary: 'Extend a held booking by the show\'s hold time',
      description: 'expiresAt becomes now + the show\'s holdSeconds and extensions grows by one. 409 HOLD_EXPIRED if the hold already lapsed (the booking is FAILED); ' +
        '409 INVALID_STATE if the booking is not PENDING (or its show was cancelled or has started); 409 EXTENSION_LIMIT after MAX_HOLD_EXTENSIONS extensions.',
      params: IdParams,
      response: {
        200: Type.Ref(Booking, { description: 'The booking, still PENDING, with its new expiresAt and extensions.' }),
        ...errors({
          400: true,
          401: true,
          404: 'BOOKING_NOT_FOUND: you have no booking with this id.',
          409: 'HOLD_EXPIRED: the hold already lapsed (the booking is FAILED); INVALID_STATE: the booking is not PENDING, or its show was cancelled or has started; EXTENSION_LIMIT: already extended MAX_HOLD_EXTENSIONS times.'
        })
      }
    }
  }, async (request) => bookings.extendHold(request.user.sub, request.params.id))

  fastify.post('/bookings/:id/cancel', {
    schema: {
      summary: 'Cancel a PENDING or CONFIRMED booking; its seats free at once',
      description: 'A PENDING or CONFIRMED booking of the signed-in user becomes CANCELLED and its seats AVAILABLE, until the show starts.',
      params: IdParams,
      response: {
        200: Type.Ref(Booking, { description: 'CANCELLED: its seats are AVAILABLE again.' }),
        ...errors({
          400: true,
          401: true,
          404: 'BOOKING_NOT_FOUND: you have no booking with this id.',
          409: 'INVALID_STATE: the booking is already FAILED or CANCELLED, or its show has started; nothing changed.'
        })
      }
    }
  }, async (request) => bookings.cancelBooking(request.user.sub, request.params.id))
}
export default bookingRoutes
