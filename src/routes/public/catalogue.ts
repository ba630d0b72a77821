import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errors, IdParams, PaginationQuery } from '../../schemas/common.js'
import { Movie, MovieList } from '../../schemas/movie.js'
import { PublicShowQuery, SeatMap, Show, ShowList } from '../../schemas/show.js'

/** The public catalogue: no token needed. */
const catalogue: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRoute', (route) => { route.schema = { ...route.schema, tags: ['catalogue'] } })
  const { movies, shows } = fastify.services

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
    schema: { summary: 'The live seat map, in seat order', params: IdParams, response: { 200: Type.Ref(SeatMap), ...errors(400, 404) } }
  }, async (request) => shows.getSeatMap(request.params.id))
}
export default catalogue
