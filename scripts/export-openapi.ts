// Writes the OpenAPI document to a file: `npm run openapi -- [path]` (default openapi.json).
// The document comes from the real app (same schemas that validate requests), built on a
// throwaway embedded database since plugins connect at start-up.
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { startEmbeddedMongo } from '../src/embedded-mongo/index.js'

const target = resolve(process.argv[2] ?? 'openapi.json')
const database = await startEmbeddedMongo()
const app = buildApp({ config: loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'warn' }), mongoUri: database.uri, dbName: 'openapi' }, false)
try {
  await app.ready()
  const document = app.swagger()
  writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`)
  console.log(`wrote ${target} (${Object.keys(document.paths ?? {}).length} paths)`)
} finally {
  await app.close()
  await database.stop()
}
