import { Type, type Static, type TSchema } from '@sinclair/typebox'

export const ObjectIdString = Type.String({ pattern: '^[0-9a-fA-F]{24}$', description: '24 hex digits (a MongoDB ObjectId)', examples: ['6761a7f2c9d1e8a4b2f0c311'] })
export const DateTime = Type.String({ format: 'date-time', description: 'ISO-8601, UTC' })
export const NullableDateTime = Type.Union([DateTime, Type.Null()])
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const IdParams = Type.Object({ id: ObjectIdString })
export type IdParams = Static<typeof IdParams>

export const Pagination = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  // Bounded so the value always fits MongoDB's 64-bit skip (a real mongod refuses ?offset=1e30).
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 })
}
export const PaginationQuery = Type.Object(Pagination, { additionalProperties: false })
export type PaginationQuery = Static<typeof PaginationQuery>

export const ListOf = <T extends TSchema>(item: T, name: string) => Type.Object({
  items: Type.Array(item),
  total: Type.Integer({ minimum: 0 }),
  limit: Type.Integer(),
  offset: Type.Integer()
}, { $id: `${name}List`, title: `${name}List` })

export interface Page<T> { items: T[], total: number, limit: number, offset: number }

export const ErrorBody = Type.Object({
  statusCode: Type.Integer({ examples: [409] }),
  code: Type.String({ description: 'stable, machine-readable', examples: ['SEATS_UNAVAILABLE'] }),
  error: Type.String({ examples: ['Conflict'] }),
  message: Type.String(),
  details: Type.Optional(Type.Object({}, { additionalProperties: true }))
}, { $id: 'Error', title: 'Error' })
export type ErrorBody = Static<typeof ErrorBody>

/** The error responses a route can give, all with the one error body. */
const ErrorRef = Type.Ref(ErrorBody)
export function errors<const C extends readonly number[]> (...codes: C): { [K in C[number]]: typeof ErrorRef } {
  return Object.fromEntries(codes.map((c) => [c, ErrorRef])) as { [K in C[number]]: typeof ErrorRef }
}

export const bearerAuth = [{ bearerAuth: [] }]
