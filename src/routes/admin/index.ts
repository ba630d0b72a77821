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
    schema: { summary: 'Add a movie to the catalogue', body: CreateMovieBody, response: { 201: Type.Ref(Movie), ...errors(400, 401, 403) } }
  }, async (request, reply) => reply.code(201).send(await movies.createMovie(request.body)))

  fastify.post('/shows', {
    schema: {
      summary: 'Create a show and generate its seats',
      description: 'seating is either { totalSeats, seatsPerRow? } (labels A1 A2 … then AA…) or { labels: [...] }. startTime must be in the future.',
      body: CreateShowBody,
      response: { 201: Type.Ref(Show), ...errors(400, 401, 403, 404) }
    }
  }, async (request, reply) => reply.code(201).send(await shows.createShow(request.body)))

  fastify.get('/shows', {
    schema: { summary: 'All shows, past and cancelled included, by start time', querystring: AdminShowQuery, response: { 200: ShowList, ...errors(400, 401, 403) } }
  }, async (request) => shows.listAdminShows(request.query))

  fastify.get('/shows/:id', {
    schema: { summary: 'One show', params: IdParams, response: { 200: Type.Ref(Show), ...errors(400, 401, 403, 404) } }
  }, async (request) => shows.getShow(request.params.id))

  fastify.patch('/shows/:id', {
    schema: { summary: 'Change a show\'s name, start time, venue or description', params: IdParams, body: UpdateShowBody, response: { 200: Type.Ref(Show), ...errors(400, 401, 403, 404) } }
  }, async (request) => shows.updateShow(request.params.id, request.body))

  fastify.post('/shows/:id/cancel', {
    schema: { summary: 'Cancel a show; its PENDING and CONFIRMED bookings become CANCELLED and its seats free', params: IdParams, response: { 200: Type.Ref(Show), ...errors(400, 401, 403, 404) } }
  }, async (request) => shows.cancelShow(request.params.id))

  fastify.get('/shows/:id/bookings', {
    schema: { summary: 'A show\'s bookings, newest first', params: IdParams, querystring: BookingQuery, response: { 200: BookingList, ...errors(400, 401, 403, 404) } }
  }, async (request) => {
    await shows.findShow(request.params.id)
    return bookings.listBookings({ showId: request.params.id }, request.query)
  })

  fastify.get('/users', {
    schema: {
      summary: 'Accounts, by email',
      description: 'email matches part of the address, case-insensitively; role and disabled filter exactly.',
      querystring: AdminUserQuery,
      response: { 200: AdminUserList, ...errors(400, 401, 403) }
    }
  }, async (request) => users.listUsers(request.query))

  fastify.patch('/users/:id', {
    schema: {
      summary: 'Change an account\'s role, or disable/enable it',
      description: 'Takes effect on every instance within 5 s (tokens are checked against the database). Disabling ends the ' +
        'account\'s sign-ins (its refresh tokens stop working). 409 LAST_ADMIN: the last enabled admin cannot be demoted or disabled.',
      params: IdParams,
      body: UpdateUserBody,
      response: { 200: Type.Ref(AdminUser), ...errors(400, 401, 403, 404, 409) }
    }
  }, async (request) => users.updateUser(request.params.id, request.body))
}
export default admin
