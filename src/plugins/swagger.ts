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
          'Every error answers `{ statusCode, code, error, message, details? }` with a stable `code`. Besides the codes each ' +
          'route lists: 400 VALIDATION_ERROR (names the field; unknown fields and wrongly typed JSON are refused), 400 INVALID_JSON, ' +
          '413 PAYLOAD_TOO_LARGE (over 256 KiB), 415 UNSUPPORTED_MEDIA_TYPE, 429 RATE_LIMITED, and 503 with Retry-After: ' +
          'OVERLOADED, DATABASE_UNAVAILABLE, SHUTTING_DOWN (this instance is closing; retry, another will answer).'
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
