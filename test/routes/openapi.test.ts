// API.md § Operations: GET /docs/json is a valid OpenAPI 3 document covering every route; GET /docs answers.
import t from 'tap'
import SwaggerParser from '@apidevtools/swagger-parser'
import openapiTS, { astToString } from 'openapi-typescript'
import { adminAuth, buildTestApp, createShow, holdOk, json, signUp } from '../helper.js'

interface MediaType { schema?: unknown, examples?: Record<string, { summary?: string, value: unknown }> }
interface Operation {
  summary?: string
  description?: string
  tags?: string[]
  security?: Array<Record<string, string[]>>
  parameters?: Array<{ name: string, in: string }>
  requestBody?: { required?: boolean, content: Record<string, MediaType> }
  responses?: Record<string, { description?: string, content?: Record<string, { schema?: unknown }> }>
}
interface OpenApiDocument {
  openapi: string
  info: { description?: string }
  paths: Record<string, Record<string, Operation>>
  components?: { securitySchemes?: Record<string, { type: string, scheme?: string }>, schemas?: Record<string, unknown> }
}

// Every row of API.md: [method, path, signed in?]
const CONTRACT: Array<[string, string, boolean]> = [
  ['post', '/api/auth/register', false],
  ['post', '/api/auth/login', false],
  ['post', '/api/auth/refresh', false],
  ['post', '/api/auth/logout', false],
  ['get', '/api/auth/me', true],
  ['post', '/api/admin/movies', true],
  ['post', '/api/admin/shows', true],
  ['get', '/api/admin/shows', true],
  ['get', '/api/admin/shows/{id}', true],
  ['patch', '/api/admin/shows/{id}', true],
  ['post', '/api/admin/shows/{id}/cancel', true],
  ['get', '/api/admin/shows/{id}/bookings', true],
  ['get', '/api/admin/users', true],
  ['patch', '/api/admin/users/{id}', true],
  ['get', '/api/movies', false],
  ['get', '/api/movies/{id}', false],
  ['get', '/api/shows', false],
  ['get', '/api/shows/{id}', false],
  ['get', '/api/shows/{id}/seats', false],
  ['get', '/api/shows/{id}/seats/events', false],
  ['post', '/api/shows/{id}/bookings', true],
  ['get', '/api/bookings', true],
  ['get', '/api/bookings/{id}', true],
  ['post', '/api/bookings/{id}/confirm', true],
  ['post', '/api/bookings/{id}/cancel', true],
  ['post', '/api/bookings/{id}/extend', true],
  ['get', '/health', false],
  ['get', '/ready', false],
  ['get', '/metrics', false]
]

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options'])

t.test('OpenAPI document', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const doc = json<OpenApiDocument>(res)

  t.test('validates as OpenAPI 3', async (t) => {
    t.match(doc.openapi, /^3\./)
    // validate() dereferences in place; keep the original for the other checks.
    await t.resolves(SwaggerParser.validate(structuredClone(doc) as unknown as Parameters<typeof SwaggerParser.validate>[0]), 'swagger-parser finds no error')
  })

  t.test('lists every path and method of API.md, and nothing undocumented', async (t) => {
    for (const [method, path] of CONTRACT) t.ok(doc.paths[path]?.[method] !== undefined, `${method.toUpperCase()} ${path}`)
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => METHODS.has(m)).map((m) => `${m} ${path}`))
    const contract = new Set(CONTRACT.map(([m, p]) => `${m} ${p}`))
    t.same(listed.filter((op) => !contract.has(op)), [], 'no operation outside the contract')
  })

  t.test('protected routes declare bearer security; public ones do not', async (t) => {
    const schemes = doc.components?.securitySchemes ?? {}
    const bearer = Object.entries(schemes).filter(([, s]) => s.type === 'http' && s.scheme === 'bearer').map(([name]) => name)
    t.ok(bearer.length > 0, 'a bearer (JWT) security scheme is declared')
    for (const [method, path, signedIn] of CONTRACT) {
      const op = doc.paths[path]?.[method]
      if (op === undefined) continue
      const names = (op.security ?? []).flatMap((s) => Object.keys(s))
      if (signedIn) t.ok(names.some((n) => bearer.includes(n)), `${method.toUpperCase()} ${path} declares bearer security`)
      else t.same(names, [], `${method.toUpperCase()} ${path} needs no token`)
    }
  })

  t.test('every operation has tags, a success response schema and the error schema', async (t) => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!METHODS.has(method)) continue
        const what = `${method.toUpperCase()} ${path}`
        t.ok((op.tags ?? []).length > 0, `${what} has tags`)
        const success = Object.entries(op.responses ?? {}).filter(([code]) => /^2\d\d$/.test(code))
        t.ok(success.length > 0, `${what} documents a 2xx response`)
        for (const [code, response] of success) {
          if (code === '204') {
            t.equal(response.content, undefined, `${what} 204 has no content`)
            continue
          }
          const schemas = Object.values(response.content ?? {}).map((c) => c.schema)
          t.ok(schemas.length > 0 && schemas.every((s) => s !== undefined), `${what} ${code} has a response schema`)
        }
      }
    }
    const errorRef = { $ref: '#/components/schemas/Error' }
    const errorOf = (path: string, method: string, code: string) => doc.paths[path]?.[method]?.responses?.[code]?.content?.['application/json']?.schema
    t.same(errorOf('/api/shows/{id}/bookings', 'post', '409'), errorRef, 'hold: 409 with the error body')
    t.same(errorOf('/api/shows/{id}/bookings', 'post', '422'), errorRef, 'hold: 422 with the error body')
    t.same(errorOf('/api/shows/{id}/bookings', 'post', '400'), errorRef, 'hold: 400 with the error body')
    t.same(errorOf('/api/auth/login', 'post', '401'), errorRef, 'login: 401')
    t.same(errorOf('/api/auth/register', 'post', '409'), errorRef, 'register: 409')
    t.same(errorOf('/api/admin/shows', 'post', '404'), errorRef, 'create show: 404 MOVIE_NOT_FOUND')
    t.same(errorOf('/api/admin/shows', 'post', '403'), errorRef, 'admin: 403')
    t.same(errorOf('/api/bookings/{id}/confirm', 'post', '409'), errorRef, 'confirm: 409')
    t.same(errorOf('/api/bookings/{id}', 'get', '404'), errorRef, 'booking: 404')
    t.same(errorOf('/api/auth/register', 'post', '400'), errorRef, 'register: 400 (WEAK_PASSWORD)')
    t.same(errorOf('/api/auth/login', 'post', '403'), errorRef, 'login: 403 ACCOUNT_DISABLED')
    t.same(errorOf('/api/auth/refresh', 'post', '401'), errorRef, 'refresh: 401 INVALID_REFRESH_TOKEN')
    t.same(errorOf('/api/auth/refresh', 'post', '403'), errorRef, 'refresh: 403 ACCOUNT_DISABLED')
    t.same(errorOf('/api/admin/users/{id}', 'patch', '404'), errorRef, 'patch user: 404 USER_NOT_FOUND')
    t.same(errorOf('/api/admin/users/{id}', 'patch', '409'), errorRef, 'patch user: 409 LAST_ADMIN')
    for (const [path, code] of [['/api/auth/register', 'WEAK_PASSWORD'], ['/api/auth/login', 'ACCOUNT_DISABLED'], ['/api/auth/refresh', 'INVALID_REFRESH_TOKEN']]) {
      t.match(JSON.stringify(doc.paths[path]?.post), code, `${path} names ${code}`)
    }
    t.match(JSON.stringify(doc.paths['/api/admin/users/{id}']?.patch), 'LAST_ADMIN', 'PATCH /api/admin/users/{id} names LAST_ADMIN')
    const session = doc.components?.schemas?.Session as { required?: string[] } | undefined
    t.same([...(session?.required ?? [])].sort(), ['expiresAt', 'refreshExpiresAt', 'refreshToken', 'token', 'user'], 'the session schema')
    t.ok(doc.paths['/api/auth/logout']?.post?.responses?.['204'] !== undefined, 'logout: 204')
    const error = doc.components?.schemas?.Error as { required?: string[] } | undefined
    t.same([...(error?.required ?? [])].sort(), ['code', 'error', 'message', 'statusCode'], 'the error body schema')
  })

  t.test('request schemas are documented', async (t) => {
    const holdOp = doc.paths['/api/shows/{id}/bookings']?.post
    t.ok(holdOp?.requestBody?.content['application/json']?.schema !== undefined, 'hold body')
    t.ok(holdOp?.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'), 'the Idempotency-Key header')
    t.ok(holdOp?.parameters?.some((p) => p.in === 'path' && p.name === 'id'), 'the show id')
    for (const [method, path] of [['post', '/api/auth/register'], ['post', '/api/auth/login'], ['post', '/api/auth/refresh'], ['post', '/api/auth/logout'], ['patch', '/api/admin/users/{id}'], ['post', '/api/admin/movies'], ['post', '/api/admin/shows'], ['patch', '/api/admin/shows/{id}']]) {
      t.ok(doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema !== undefined, `${method.toUpperCase()} ${path} body`)
    }
    const queries = (path: string) => (doc.paths[path]?.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort()
    t.same(queries('/api/shows'), ['from', 'limit', 'movieId', 'offset', 'to', 'type'])
    t.same(queries('/api/admin/shows'), ['limit', 'offset', 'status', 'type'])
    t.same(queries('/api/bookings'), ['limit', 'offset', 'status'])
    t.same(queries('/api/admin/users'), ['disabled', 'email', 'limit', 'offset', 'role'])
    // API.md: confirm takes `{ paymentReference? }` or nothing; a generated client must not demand a body.
    t.equal(doc.paths['/api/bookings/{id}/confirm']?.post?.requestBody?.required, false, 'confirm body is optional')
    t.equal(holdOp?.requestBody?.required, true, 'the hold body is required')
  })

  t.test('read as admin tooling reads it: every operation and every response described', async (t) => {
    let operations = 0
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!METHODS.has(method)) continue
        operations++
        const what = `${method.toUpperCase()} ${path}`
        t.ok((op.summary ?? '').trim().length > 0, `${what} has a summary`)
        t.ok((op.description ?? '').trim().length > (op.summary ?? '').length / 2, `${what} has a description`)
        for (const [code, response] of Object.entries(op.responses ?? {})) {
          const text = response.description ?? ''
          t.ok(text.trim().length > 0 && text !== 'Default Response', `${what} ${code} is described (${text.slice(0, 60)})`)
          // An error response says which codes it answers with, as the contract names them.
          if (/^[45]\d\d$/.test(code)) t.match(text, /\b[A-Z][A-Z_]{4,}\b/, `${what} ${code} names its error code`)
        }
      }
    }
    t.equal(operations, CONTRACT.length, 'every operation was looked at')
    t.notMatch(JSON.stringify(doc), /Default Response/, 'no "Default Response" anywhere in the document')
    // What a route particular says of a status, beyond the standard meaning.
    const described = (path: string, method: string, code: string) => doc.paths[path]?.[method]?.responses?.[code]?.description ?? ''
    t.match(described('/api/bookings/{id}/confirm', 'post', '409'), /HOLD_EXPIRED.*INVALID_STATE.*SHOW_NOT_BOOKABLE/, 'confirm 409: each code')
    t.match(described('/api/shows/{id}/bookings', 'post', '400'), /VALIDATION_ERROR.*UNKNOWN_SEATS/, 'hold 400: the standard meaning and its own code')
    t.match(described('/api/shows/{id}/bookings', 'post', '409'), /SEATS_UNAVAILABLE.*SHOW_NOT_BOOKABLE/, 'hold 409')
    t.match(described('/api/admin/shows/{id}', 'get', '404'), /SHOW_NOT_FOUND/, 'a 404 names what is not found')
    t.match(described('/api/bookings/{id}', 'get', '404'), /BOOKING_NOT_FOUND/)
    t.match(described('/api/admin/shows', 'post', '403'), /FORBIDDEN/)
    t.match(described('/ready', 'get', '503'), /DATABASE_UNAVAILABLE.*SCHEDULER_STOPPED/)
  })

  t.test('the general error text names every code any request may get', async (t) => {
    const text = doc.info.description ?? ''
    for (const code of ['VALIDATION_ERROR', 'INVALID_JSON', 'MALFORMED_REQUEST', 'NOT_FOUND', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'HEADERS_TOO_LARGE', 'OVERLOADED', 'DATABASE_UNAVAILABLE', 'SHUTTING_DOWN', 'INTERNAL_ERROR']) {
      t.match(text, new RegExp(`\\b${code}\\b`), code)
    }
    for (const status of ['408', '413', '415', '429', '431', '503']) t.match(text, new RegExp(`\\b${status}\\b`), `status ${status}`)
  })

  t.test('a client generator reads it: openapi-typescript types every operation', async (t) => {
    const types = astToString(await openapiTS(structuredClone(doc) as unknown as Parameters<typeof openapiTS>[0]))
    for (const [method, path] of CONTRACT) t.match(types, `"${path}"`, `${method.toUpperCase()} ${path} typed`)
    t.match(types, /show: \{\s*name: string;\s*type: "MOVIE" \| "BUS" \| "DOCTOR" \| "EVENT";\s*venue: string \| null;/, 'the booking\'s show summary is typed')
    t.notMatch(types, /Default Response/)
  })

  t.test('the main request bodies carry whole examples, and each is a request the service takes', async (t) => {
    const examplesOf = (path: string, method: string) => Object.values(doc.paths[path]?.[method]?.requestBody?.content['application/json']?.examples ?? {})
    const createShows = examplesOf('/api/admin/shows', 'post')
    const holds = examplesOf('/api/shows/{id}/bookings', 'post')
    const confirms = examplesOf('/api/bookings/{id}/confirm', 'post')
    t.ok(createShows.length >= 2 && holds.length >= 2 && confirms.length >= 2, 'create show, hold and confirm each have named examples')
    for (const example of [...createShows, ...holds, ...confirms]) t.ok((example.summary ?? '').length > 0, 'each example says what it shows')

    const admin = await adminAuth(app)
    for (const example of createShows) {
      const res = await app.inject({ method: 'POST', url: '/api/admin/shows', headers: admin, payload: example.value as Record<string, unknown> })
      t.equal(res.statusCode, 201, `create show example "${example.summary}" creates a show (${res.body.slice(0, 200)})`)
    }
    const user = await signUp(app, 'docs-reader')
    // Rows A–C, so the labels of the examples exist; ids of the examples name no seat of this show.
    const show = await createShow(app, { seating: { totalSeats: 30, seatsPerRow: 10 } })
    for (const example of holds) {
      const res = await app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: user.authorization }, payload: example.value as Record<string, unknown> })
      const code = json<{ code?: string }>(res).code
      t.ok(res.statusCode === 201 || code === 'UNKNOWN_SEATS' || code === 'UNKNOWN_CATEGORY', `hold example "${example.summary}" passes validation (${res.statusCode} ${code ?? ''})`)
    }
    for (const [i, example] of confirms.entries()) {
      const booking = await holdOk(app, user.authorization, show.id, [`A${i + 1}`])
      const res = await app.inject({ method: 'POST', url: `/api/bookings/${booking.id}/confirm`, headers: { authorization: user.authorization }, payload: example.value as Record<string, unknown> })
      t.equal(res.statusCode, 200, `confirm example "${example.summary}" confirms`)
    }
  })

  t.test('GET /docs answers the interactive documentation', async (t) => {
    let url = '/docs'
    let page = await app.inject({ method: 'GET', url })
    for (let hops = 0; hops < 3 && page.statusCode >= 300 && page.statusCode < 400; hops++) {
      url = new URL(String(page.headers.location), 'http://localhost/docs/').pathname
      page = await app.inject({ method: 'GET', url })
    }
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /text\/html/)
    t.match(page.body, /swagger/i)
  })
})
