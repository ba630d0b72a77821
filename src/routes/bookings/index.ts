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
      response: { 201: Type.Ref(Booking), ...errors(400, 401, 404, 409, 422, 429) }
    }
  }, async (request, reply) => {
    const booking = await bookings.holdSeats(request.user.sub, request.params.id, request.body, request.headers['idempotency-key'])
    return reply.code(201).send(booking)
  })

  fastify.get('/bookings', {
    schema: { summary: 'Your bookings, newest first', querystring: BookingQuery, response: { 200: BookingList, ...errors(400, 401) } }
  }, async (request) => bookings.listBookings({ userId: request.user.sub }, request.query))

  fastify.get('/bookings/:id', {
    schema: { summary: 'One of your bookings', params: IdParams, response: { 200: Type.Ref(Booking), ...errors(400, 401, 404) } }
  }, async (request) => bookings.getBooking(request.user.sub, request.params.id))

  fastify.post('/bookings/:id/confirm', {
    schema: {
      summary: 'Confirm a held booking (payment is simulated)',
      description: 'Confirming an already CONFIRMED booking answers the same 200. 409 HOLD_EXPIRED if the hold lapsed (the booking is FAILED); 409 INVALID_STATE if cancelled.',
      params: IdParams,
      body: Type.Optional(ConfirmBody),
      response: { 200: Type.Ref(Booking), ...errors(400, 401, 404, 409) }
    }
  }, async (request) => bookings.confirmBooking(request.user.sub, request.params.id, request.body?.paymentReference))

  fastify.post('/bookings/:id/extend', {
    schema: {
      summary: 'Extend a held booking by the show\'s hold time',
      description: 'expiresAt becomes now + the show\'s holdSeconds and extensions grows by one. 409 HOLD_EXPIRED if the hold already lapsed (the booking is FAILED); ' +
        '409 INVALID_STATE if the booking is not PENDING (or its show was cancelled or has started); 409 EXTENSION_LIMIT after MAX_HOLD_EXTENSIONS extensions.',
      params: IdParams,
      response: { 200: Type.Ref(Booking), ...errors(400, 401, 404, 409) }
    }
  }, async (request) => bookings.extendHold(request.user.sub, request.params.id))

  fastify.post('/bookings/:id/cancel', {
    schema: {
      summary: 'Cancel a PENDING or CONFIRMED booking; its seats free at once',
      params: IdParams,
      response: { 200: Type.Ref(Booking), ...errors(400, 401, 404, 409) }
    }
  }, async (request) => bookings.cancelBooking(request.user.sub, request.params.id))
}
export default bookingRoutes
