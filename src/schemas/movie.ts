import { Type, type Static } from '@sinclair/typebox'
import { DateTime, ListOf, Nullable, ObjectIdString } from './common.js'

export const Movie = Type.Object({
  id: ObjectIdString,
  title: Type.String(),
  description: Nullable(Type.String()),
  durationMinutes: Nullable(Type.Integer()),
  createdAt: DateTime
}, { $id: 'Movie', title: 'Movie' })
export type Movie = Static<typeof Movie>
export const MovieList = ListOf(Type.Ref(Movie), 'Movie')

export const CreateMovieBody = Type.Object({
  title: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
  durationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 }))
}, { additionalProperties: false })
export type CreateMovieBody = Static<typeof CreateMovieBody>
