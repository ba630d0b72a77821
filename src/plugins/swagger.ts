import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { ErrorBody } from '../schemas/common.js'
import { AdminUser, AdminUserList, Session, User } from '../schemas/auth.js'
import { Movie, MovieList } from '../schemas/movie.js'
import { SeatMap, SeatView, Show, ShowList } from '../schemas/show.js'
import { Booking, BookingList } from '../schemas/booking.js'
import { SeatChangesData, SeatSnapshotData, ShowStatusData } from '../schemas/seat-events.js'

/** The OpenAPI document is generated from the same TypeBox schemas that validate and serialise. */
export default fp(async function swaggerPlugin (fastify: FastifyInstance) {
  for (const schema of [ErrorBody, User, Session, AdminUser, AdminUserList, Movie, MovieList, Show, ShowList, SeatView, SeatMap, Booking, BookingList, SeatSnapshotData, SeatChangesData, ShowStatusData]) {
    fastify.addSchema(schema)
  }
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Modex API',
        version: '1.0.0',
        description: 'Seats for anything with a fixed inventory at a time: shows, trips, appointment slots. ' +
          'Hold seats (all or none), confirm before the hold expires, or cancel; a seat is never sold twice.\n\n' +
          'Every error answers `{ statusCode, code, error, message, details? }` with a stable `code`, and the CORS and security ' +
          'headers of any other answer, also when the HTTP layer refuses a request before it reaches a route. Each operation lists ' +
          'its own codes; besides those, any request may be answered:\n\n' +
          '- 400 VALIDATION_ERROR: a field is invalid (the message names it, and the allowed values for a fixed set; `details.field` ' +
          'is its path; unknown fields and wrongly typed JSON are refused, not converted), also a path that is not valid ' +
          'percent-encoding or a path parameter that is too long; 400 INVALID_JSON: the body is not JSON; ' +
          '400 MALFORMED_REQUEST: the request is not valid HTTP (e.g. a content-length shorter than the body)\n' +
          '- 404 NOT_FOUND: no such route\n' +
          '- 408 REQUEST_TIMEOUT: the request took too long to arrive (30 s)\n' +
          '- 413 PAYLOAD_TOO_LARGE: the body is over 256 KiB\n' +
          '- 415 UNSUPPORTED_MEDIA_TYPE: a body that is not `application/json` (JSON sent as text/plain included)\n' +
          '- 429 RATE_LIMITED, with Retry-After: RATE_LIMIT requests a minute per client (user when signed in, else address)\n' +
          '- 431 HEADERS_TOO_LARGE: the request headers are too large\n' +
          '- 503, with Retry-After, answered at once: OVERLOADED (this instance sheds load), DATABASE_UNAVAILABLE (the database ' +
          'is unreachable, or a connection to it failed; retry), SHUTTING_DOWN (this instance is closing; retry, another will answer)\n' +
          '- 500 INTERNAL_ERROR: a fault of the service (never with internals in the body)'
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      },
      tags: [
        { name: 'auth', description: 'accounts and tokens' },
        { name: 'admin', description: 'catalogue and account management (role ADMIN)' },
        { name: 'catalogue', description: 'public movies, shows and seat maps' },
        { name: 'bookings', description: 'holds, confirmations and cancellations (signed in)' },
        { name: 'operations', description: 'health, readiness and metrics' }
      ]
    },
    // A body that may be absent (a nullable schema: confirm takes none or a paymentReference)
    // is not a required request body, whatever the generator assumes.
    transformObject: (documentObject) => {
      const document = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject
      for (const item of Object.values(document.paths ?? {})) {
        for (const operation of Object.values(item ?? {})) {
          const body = (operation as { requestBody?: { required?: boolean, content?: Record<string, { schema?: { nullable?: boolean } }> } }).requestBody
          if (body?.content?.['application/json']?.schema?.nullable === true) body.required = false
        }
      }
      return document
    },
    // Shared schemas appear under components.schemas by their own names.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
}, { name: 'swagger' })
