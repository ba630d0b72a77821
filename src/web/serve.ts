import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'

/**
 * The reference web client (src/web/client): `GET /` is its page, `/web/*` its modules and
 * styles, `/web/vendor/*` the few browser modules it imports from the project's own
 * node_modules. No bundler: the page's import map points the bare specifiers (`preact`,
 * `htm/preact`, …) at the vendor URLs below.
 */

const clientRoot = fileURLToPath(new URL('./client/', import.meta.url))
const require = createRequire(import.meta.url)

/** Bare specifier → [package, file inside it]: the only node_modules files ever served. */
const VENDOR_MODULES: Record<string, [string, string]> = {
  preact: ['preact', 'dist/preact.mjs'],
  'preact/hooks': ['preact', 'hooks/dist/hooks.mjs'],
  htm: ['htm', 'dist/htm.mjs'],
  'htm/preact': ['htm', 'preact/index.mjs'],
  '@preact/signals': ['@preact/signals', 'dist/signals.mjs'],
  '@preact/signals-core': ['@preact/signals-core', 'dist/signals-core.mjs'],
  'openapi-fetch': ['openapi-fetch', 'dist/index.mjs']
}

// The client's own files are text the browser runs or shows; anything else in the folder
// (the generated .d.ts, the tsconfig) is for the type checker, not for the web.
const SERVED_TYPES = new Set(['.js', '.css', '.svg', '.png', '.ico', '.webmanifest'])

interface PackageDir { dir: string, version: string }

/** A package's folder and version, found from its resolved entry (not every package exports package.json). */
function packageDir (name: string): PackageDir {
  let dir = dirname(require.resolve(name))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string, version?: string }
      if (pkg.name === name) return { dir, version: pkg.version ?? '0' }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`web client: package ${name} not found`)
    dir = parent
  }
}

interface VendorFile { root: string, file: string }

function vendorTable (): { importMap: Record<string, string>, files: Map<string, VendorFile> } {
  const importMap: Record<string, string> = {}
  const files = new Map<string, VendorFile>()
  const packages = new Map<string, PackageDir>()
  for (const [specifier, [name, file]] of Object.entries(VENDOR_MODULES)) {
    const pkg = packages.get(name) ?? packageDir(name)
    packages.set(name, pkg)
    // The version is part of the URL, so these files can be cached for good.
    const path = `${name}@${pkg.version}/${file}`
    importMap[specifier] = `/web/vendor/${path}`
    files.set(path, { root: pkg.dir, file })
  }
  return { importMap, files }
}

const sha256 = (text: string, encoding: 'base64' | 'hex'): string => createHash('sha256').update(text).digest(encoding)

export default async function webClient (fastify: FastifyInstance): Promise<void> {
  const { importMap, files } = vendorTable()
  // The import map has to be inline (browsers load no external ones); the CSP allows exactly
  // this script by its hash, and no other inline script.
  const importMapJson = JSON.stringify({ imports: importMap }, null, 2)
  const template = readFileSync(join(clientRoot, 'index.html'), 'utf8')
  const page = template.replace('<!-- import map -->', `<script type="importmap">${importMapJson}</script>`)
  const pageEtag = `"${sha256(page, 'hex').slice(0, 32)}"`
  const pageCsp = {
    // Not the defaults: `upgrade-insecure-requests` would send an http deployment's module
    // requests to an https port that may not exist.
    useDefaults: false as const,
    directives: {
      'default-src': ["'self'"],
      'script-src': ["'self'", `'sha256-${sha256(importMapJson, 'base64')}'`],
      'script-src-attr': ["'none'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'font-src': ["'self'"],
      'connect-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"]
    }
  }

  // Only for reply.sendFile: no wildcard route of its own, so nothing under /api, /docs or the
  // ops routes can be shadowed.
  await fastify.register(fastifyStatic, { root: clientRoot, serve: false })

  // Static files are cheap and revalidated: not counted against the API's rate limit.
  const config = { rateLimit: false }
  const schema = { hide: true }

  fastify.get('/', { config: { ...config, securityHeaders: { contentSecurityPolicy: pageCsp } }, schema }, async (request, reply) => {
    reply.header('cache-control', 'no-cache').header('etag', pageEtag)
    if (request.headers['if-none-match'] === pageEtag) return reply.code(304).send()
    return reply.type('text/html; charset=utf-8').send(page)
  })

  fastify.get('/web/vendor/*', { config, schema }, async (request, reply) => {
    const path = (request.params as { '*': string })['*']
    const vendor = files.get(path)
    if (vendor === undefined) return reply.callNotFound()
    return reply.sendFile(vendor.file, vendor.root, { maxAge: '365d', immutable: true })
  })

  fastify.get('/web/*', { config, schema }, async (request, reply) => {
    const path = (request.params as { '*': string })['*']
    if (!SERVED_TYPES.has(extname(path)) || path.endsWith('.d.ts')) return reply.callNotFound()
    return sendRevalidated(reply, path)
  })
}

/** The app's own modules change with each release under the same URL: always revalidated (ETag → 304). */
function sendRevalidated (reply: FastifyReply, path: string): FastifyReply {
  reply.header('cache-control', 'no-cache')
  return reply.sendFile(path, { cacheControl: false })
}
