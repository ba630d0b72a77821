import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { errors, IdParams, PaginationQuery } from '../../schemas/common.js'
import { Movie, MovieList } from '../../schemas/movie.js'
import { PublicShowQuery, SeatMap, Show, ShowList } from '../../schemas/show.js'

/** A body that is JSON already goes out as is (Fastify does not serialise strings). */
const sendJson = (reply: FastifyReply, body: string): FastifyReply => reply.type('application/json; charset=utf-8').send(body)

/** The public catalogue: no token needed. */
const catalogue: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRoute', (route) => { route.schema = { ...route.schema, tags: ['catalogue'] } })
  const { movies, shows, seatMaps } = fastify.services

  fastify.get('/movies', {
    schema: { summary: 'Movies, newest first', querystring: PaginationQuery, response: { 200: MovieList, ...errors(400) } }
  }, async (request) => movies.listMovies(request.query))

  fastify.get('/movies/:id', {
    schema: { summary: 'One movie', params: IdParams, response: { 200: Type.Ref(Movie), ...errors(400, 404) } }
  }, async (request) => movies.getMovie(request.params.id))

  fastify.get('/shows', {
    schema: { summary: 'Scheduled shows that have not started, soonest first', querystring: PublicShowQuery, response: { 200: ShowList, ...errors(400) } }
  }, async (request) => shows.listPublicShows(request.query))

  fastify.get('/shows/:id', {
    schema: { summary: 'One show with its seat counts', params: IdParams, response: { 200: Type.Ref(Show), ...errors(400, 404) } }
  }, async (request) => shows.getShow(request.params.id))

  fastify.get('/shows/:id/seats', {
    schema: {
      summary: 'The live seat map, in seat order',
      description: 'Served from a short per-instance cache: the map reflects changes made through the instance that answers at once, ' +
        'and changes made through other instances within 500 ms (never more than 1 s). ' +
        'Every answer carries a strong ETag; a request whose If-None-Match matches it is answered 304 without a body.',
      params: IdParams,
      headers: Type.Object({ 'if-none-match': Type.Optional(Type.String({ description: 'an ETag of an earlier answer' })) }),
      response: {
        200: Type.Ref(SeatMap),
        304: Type.Null({ description: 'Not modified: the map is the one the If-None-Match ETag names' }),
        ...errors(400, 404)
      }
    }
  }, async (request, reply) => {
    const map = await seatMaps.get(request.params.id)
    reply.header('etag', map.etag).header('cache-control', 'no-cache')
    const match = request.headers['if-none-match']
    if (match !== undefined && (match.trim() === '*' || match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === map.etag))) {
      return reply.code(304).send(null)
    }
    // Already JSON: sent as is, not serialised again.
    return sendJson(reply, map.body)
  })
}
export default catalogue
