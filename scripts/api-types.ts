// The web client's API types, generated from the service's own OpenAPI document by
// openapi-typescript. Shared by `npm run web:types` (writes them) and the test that fails
// when the committed file no longer matches what /docs/json says.
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript'

export const API_TYPES_PATH = 'src/web/client/api/schema.d.ts'

// defaultNonNullable off: a parameter with a default (limit, offset) is one the client may leave out.
export async function apiTypesFromDocument (document: unknown): Promise<string> {
  const ast = await openapiTS(document as OpenAPI3, { alphabetize: true, defaultNonNullable: false })
  return '// Generated from GET /docs/json by `npm run web:types` (scripts/web-api-types.ts). Do not edit.\n' +
    '// test/web/api-types.test.ts fails when this no longer matches the service.\n\n' +
    astToString(ast)
}
