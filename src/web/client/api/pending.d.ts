// Routes of shared/API.md that the service's OpenAPI document does not list yet (they are
// being built on other branches). Written in openapi-typescript's shape so the client calls
// them typed; each entry goes as soon as `npm run web:types` generates it from /docs/json.
import type { components } from './schema'
import type { Session } from './types'

type NoParams = { query?: never, header?: never, path?: never, cookie?: never }
type IdParam = { query?: never, header?: never, path: { id: string }, cookie?: never }
type Json<T> = { headers: { [name: string]: unknown }, content: { 'application/json': T } }
type Failure = Json<components['schemas']['Error']>

export interface PendingPaths {
  '/api/auth/refresh': {
    parameters: NoParams
    post: {
      parameters: NoParams
      requestBody: { content: { 'application/json': { refreshToken: string } } }
      responses: { 200: Json<Session>, 401: Failure, 403: Failure }
    }
  }
  '/api/auth/logout': {
    parameters: NoParams
    post: {
      parameters: NoParams
      requestBody: { content: { 'application/json': { refreshToken: string } } }
      responses: { 204: { headers: { [name: string]: unknown }, content?: never } }
    }
  }
  '/api/bookings/{id}/extend': {
    parameters: IdParam
    post: {
      parameters: IdParam
      requestBody?: never
      responses: { 200: Json<components['schemas']['Booking']>, 404: Failure, 409: Failure }
    }
  }
}
