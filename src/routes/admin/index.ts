import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bearerAuth, errors, IdParams } from '../../schemas/common.js'
import { CreateMovieBody, Movie } from '../../schemas/movie.js'
import { AdminShowQuery, CreateShowBody, Show, ShowList, UpdateShowBody } from '../../schemas/show.js'
import { BookingList, BookingQuery } from '../../schemas/booking.js'
import { AdminUser, AdminUserList, AdminUserQuery, UpdateUserBody } from '../../schemas/auth.js'

/** Admin-only routes: the role check sits once, here, for the whole folder. */
const admin: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  fastify.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, tags: ['admin'], security: bearerAuth }
  })
  const { movies, shows, bookings, users } = fastify.services

  fastify.post('/movies', {
    schema: {
      summary: 'Add a movie to the catalogue',
      description: 'A movie is what MOVIE shows may name by movieId; its title, description and duration are shown with them.',
      body: CreateMovieBody,
      response: { 201: Type.Ref(Movie, { description: 'The movie, created.' }), ...errors({ 400: true, 401: true, 403: true }) }
    }
  }, async (request, reply) => reply.code(201).send(await movies.createMovie(request.body)))

  fastify.post('/shows', {
    schema: {
      summary: 'Create a show and generate its seats',
      description: 'A show is anything with a fixed set of seats at a time: a screening, a bus trip, a doctor\'s slots, an event. ' +
        '`seating` is either `{ totalSeats, seatsPerRow? }` (seats generated row by row: A1 A2 … then B1 …; rows past Z continue AA, AB, …) ' +
        'or `{ labels: [...] }` (one seat per label, in that order). Every seat starts AVAILABLE. `startTime` must be in the future; ' +
        '`holdSeconds` overrides HOLD_SECONDS for this show\'s holds; `priceCents` is the price of each seat.',
      body: CreateShowBody,
      response: {
        201: Type.Ref(Show, { description: 'The show, SCHEDULED, with all its seats AVAILABLE.' }),
        ...errors({ 400: 'Also when startTime is not in the future (`details.field`: body/startTime).', 401: true, 403: true, 404: 'MOVIE_NOT_FOUND: movieId names no movie; nothing was created.' })
      }
    }
  }, async (request, reply) => reply.code(201).send(await shows.createShow(request.body)))

  fastify.get('/shows', {
    schema: {
      summary: 'All shows, past and cancelled included, by start time',
      description: 'Unlike the public list, every show: past ones and CANCELLED ones too, soonest start first; filter by status and type.',
      querystring: AdminShowQuery,
      response: { 200: Type.Ref(ShowList, { description: 'A page of shows with their seat counts, and the total that match.' }), ...errors({ 400: true, 401: true, 403: true }) }
    }
  }, async (request) => shows.listAdminShows(request.query))

  fastify.get('/shows/:id', {
    schema: {
      summary: 'One show',
      description: 'Any show, past or cancelled, with its live seat counts.',
      params: IdParams,
      response: { 200: Type.Ref(Show, { description: 'The show with its seat counts.' }), ...errors({ 400: true, 401: true, 403: true, 404: 'SHOW_NOT_FOUND: no show has this id.' }) }
    }
  }, async (request) => shows.getShow(request.params.id))

  fastify.patch('/shows/:id', {
    schema: {
      summary: 'Change a show\'s name, start time, venue or description',
      description: 'Only the fields sent change (at least one). Seats, price and hold time are fixed once the show exists. ' +
        'Bookings show the new name, venue and start time at once (their `show` summary is read with them).',
      params: IdParams,
      body: UpdateShowBody,
      response: {
        200: Type.Ref(Show, { description: 'The show as changed.' }),
        ...errors({ 400: 'Also when startTime is not in the future, or the body has no field.', 401: true, 403: true, 404: 'SHOW_NOT_FOUND: no show has this id; nothing changed.' })
      }
    }
  }, async (request) => shows.updateShow(request.params.id, request.body))

  fastify.post('/shows/:id/cancel', {
    schema: {
      summary: 'Cancel a show; its PENDING and CONFIRMED bookings become CANCELLED and its seats free',
      description: 'The show stops taking holds at once; then each of its PENDING and CONFIRMED bookings is cancelled and its seats ' +
        'go back to AVAILABLE. A hold that lands meanwhile can never be confirmed (its confirm answers 409 SHOW_NOT_BOOKABLE and cancels it). ' +
        'Cancelling a cancelled show answers the same 200.',
      params: IdParams,
      response: {
        200: Type.Ref(Show, { description: 'The show, CANCELLED; its live bookings are cancelled and its seats AVAILABLE.' }),
        ...errors({ 400: true, 401: true, 403: true, 404: 'SHOW_NOT_FOUND: no show has this id.' })
      }
    }
  }, async (request) => shows.cancelShow(request.params.id))

  fastify.get('/shows/:id/bookings', {
    schema: {
      summary: 'A show\'s bookings, newest first',
      description: 'Every booking of the show, whoever made it, in any status (filter by status), each with its seats and show summary.',
      params: IdParams,
      querystring: BookingQuery,
      response: {
        200: Type.Ref(BookingList, { description: 'A page of the show\'s bookings, and the total that match.' }),
        ...errors({ 400: true, 401: true, 403: true, 404: 'SHOW_NOT_FOUND: no show has this id.' })
      }
    }
  }, async (request) => {
    await shows.findShow(request.params.id)
    return bookings.listBookings({ showId: request.params.id }, request.query)
  })

  fastify.get('/users', {
    schema: {
      summary: 'Accounts, by email',
      description: 'email matches part of the address, case-insensitively; role and disabled filter exactly.',
      querystring: AdminUserQuery,
      response: { 200: Type.Ref(AdminUserList, { description: 'A page of accounts, and the total that match.' }), ...errors({ 400: true, 401: true, 403: true }) }
    }
  }, async (request) => users.listUsers(request.query))

  fastify.patch('/users/:id', {
    schema: {
      summary: 'Change an account\'s role, or disable/enable it',
      description: 'Takes effect on every instance within 5 s (tokens are checked against the database). Disabling ends the ' +
        'account\'s sign-ins (its refresh tokens stop working). 409 LAST_ADMIN: the last enabled admin cannot be demoted or disabled.',
      params: IdParams,
      body: UpdateUserBody,
      response: {
        200: Type.Ref(AdminUser, { description: 'The account as changed.' }),
        ...errors({
          400: 'Also when the body has no field.',
          401: true,
          403: true,
          404: 'USER_NOT_FOUND: no account has this id.',
          409: 'LAST_ADMIN: this is the last enabled admin; it cannot be demoted or disabled (nothing changed).'
        })
      }
    }
  }, async (request) => users.updateUser(request.params.id, request.body))
}
export default admin
