// Routes of shared/API.md that the service's OpenAPI document does not list yet (they are
// being built on other branches). Written in openapi-typescript's shape so the client calls
// them typed; each entry goes as soon as `npm run web:types` generates it from /docs/json.
import type { components } from './schema'

type IdParam = { query?: never, header?: never, path: { id: string }, cookie?: never }
type Json<T> = { headers: { [name: string]: unknown }, content: { 'application/json': T } }
type Failure = Json<components['schemas']['Error']>

// None at present: hold extension is in the generated schema now.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PendingPaths {}
