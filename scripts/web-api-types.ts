// Regenerates the web client's typed API (src/web/client/api/schema.d.ts) from the OpenAPI
// document of the real app: `npm run web:types`.
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { startEmbeddedMongo } from '../src/embedded-mongo/index.js'
import { API_TYPES_PATH, apiTypesFromDocument } from './api-types.js'

const database = await startEmbeddedMongo()
const app = buildApp({ config: loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'warn' }), mongoUri: database.uri, dbName: 'openapi' }, false)
try {
  await app.ready()
  const target = resolve(API_TYPES_PATH)
  writeFileSync(target, await apiTypesFromDocument(app.swagger()))
  console.log(`wrote ${target}`)
} finally {
  await app.close()
  await database.stop()
}
