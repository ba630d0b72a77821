import type { Models } from '../models/index.js'
import type { MovieRecord } from '../models/movie.js'
import { notFound } from '../errors.js'
import type { Page, PaginationQuery } from '../schemas/common.js'
import type { CreateMovieBody, Movie } from '../schemas/movie.js'

const toMovie = (doc: MovieRecord): Movie => ({
  id: doc._id.toString(),
  title: doc.title,
  description: doc.description ?? null,
  durationMinutes: doc.durationMinutes ?? null,
  createdAt: doc.createdAt.toISOString()
})

export function createMovieService ({ models }: { models: Models }) {
  const { Movie } = models

  async function createMovie (body: CreateMovieBody): Promise<Movie> {
    const doc = await Movie.create({ title: body.title, description: body.description ?? null, durationMinutes: body.durationMinutes ?? null })
    return toMovie(doc.toObject() as MovieRecord)
  }

  async function listMovies ({ limit, offset }: PaginationQuery): Promise<Page<Movie>> {
    const [docs, total] = await Promise.all([
      Movie.find().sort({ createdAt: -1, _id: -1 }).skip(offset).limit(limit).lean<MovieRecord[]>(),
      Movie.countDocuments()
    ])
    return { items: docs.map(toMovie), total, limit, offset }
  }

  async function getMovie (id: string): Promise<Movie> {
    const doc = await Movie.findById(id).lean<MovieRecord>()
    if (doc === null) throw notFound('MOVIE_NOT_FOUND', `movie ${id} does not exist`)
    return toMovie(doc)
  }

  return { createMovie, listMovies, getMovie }
}
export type MovieService = ReturnType<typeof createMovieService>
