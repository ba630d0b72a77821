import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** An ObjectId as text: 24 hex digits, as the routes' ids are validated. */
export const OBJECT_ID = /^[0-9a-fA-F]{24}$/
export const ObjectIdString = Type.String({ pattern: OBJECT_ID.source, description: '24 hex digits (a MongoDB ObjectId)', examples: ['6761a7f2c9d1e8a4b2f0c311'] })
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

/**
 * What an error status means on any route that lists it. A route adds what is particular to it
 * (its own codes) after this; statuses without a standard meaning must be described by the route.
 * Every answer of the service may also be 413, 415, 429 or 503 (see the document's description).
 */
const STANDARD_MEANING = {
  400: 'VALIDATION_ERROR: a path parameter, query field, header or body field is invalid (the message names it and, ' +
    'for a value outside a fixed set, the values allowed; `details.field` is its path), or INVALID_JSON: the body is not JSON.',
  401: 'UNAUTHORIZED: no access token, or one that is malformed, expired, or of an account that no longer exists or is disabled.',
  403: 'FORBIDDEN: signed in, but the account is not an admin (read from the database: a demotion counts within 5 s).',
  429: 'RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds.',
  503: 'Not available now; retry after the `Retry-After` seconds.'
} as const
type StandardStatus = keyof typeof STANDARD_MEANING

/** Per status: `true` for the standard meaning alone, or the text of what it means on this route. */
export type ErrorMeanings = { [S in StandardStatus]?: true | string } & Record<number, true | string>

function describeStatus (status: number, meaning: true | string): string {
  const standard = (STANDARD_MEANING as Record<number, string | undefined>)[status]
  if (meaning === true) {
    if (standard === undefined) throw new Error(`errors(): status ${status} has no standard meaning; say what it means on this route`)
    return standard
  }
  return standard === undefined ? meaning : `${standard} ${meaning}`
}

/**
 * The error responses a route can give, all with the one error body, each described for the
 * OpenAPI document (a generated client's docs and /docs show these, not "Default Response").
 * The description sits beside the $ref: @fastify/swagger takes it as the response's
 * description and drops it from the schema, which stays a bare reference to Error.
 */
const errorResponse = (description: string) => Type.Ref(ErrorBody, { description })
type ErrorResponse = ReturnType<typeof errorResponse>
export function errors<const M extends ErrorMeanings> (meanings: M): { [K in keyof M]: ErrorResponse } {
  return Object.fromEntries(Object.entries(meanings).map(([status, meaning]) =>
    [status, errorResponse(describeStatus(Number(status), meaning))])) as { [K in keyof M]: ErrorResponse }
}

export const bearerAuth = [{ bearerAuth: [] }]
