// The web client's typed API (src/web/client/api/schema.d.ts) is generated from GET /docs/json;
// this fails as soon as the committed file no longer matches what the service documents.
// Fix: `npm run web:types`, then let `npm run typecheck` show what the client must change.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { API_TYPES_PATH, apiTypesFromDocument } from '../../scripts/api-types.js'
import { buildTestApp, json } from '../helper.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

t.test('the committed client types are those of the served OpenAPI document', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const expected = await apiTypesFromDocument(json(res))
  const committed = readFileSync(`${root}${API_TYPES_PATH}`, 'utf8')
  t.ok(committed === expected, `${API_TYPES_PATH} matches /docs/json (else run \`npm run web:types\`)`)
  t.match(committed, /"\/api\/shows\/\{id\}\/bookings"/, 'it types the routes the client calls')
})
