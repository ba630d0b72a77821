// How the web client is served: `/` with a strict CSP that allows exactly its import map,
// its modules revalidated, the vendor modules cached for good under versioned URLs, and
// nothing else in the folder or in node_modules reachable. The API keeps its own answers.
import { createHash } from 'node:crypto'
import t from 'tap'
import { buildTestApp, json } from '../helper.js'

t.test('GET / is the app page, with a CSP that runs no inline script but its import map', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.equal(res.headers['cache-control'], 'no-cache', 'the page is revalidated on every visit')
  const csp = String(res.headers['content-security-policy'])
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no unsafe-inline or unsafe-eval anywhere')
  t.match(csp, /default-src 'self'/)
  t.match(csp, /object-src 'none'/)
  t.match(csp, /frame-ancestors 'none'/)

  const inline = [...res.body.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
  t.equal(inline.length, 1, 'one inline script: the import map')
  t.match(inline[0][0], /type="importmap"/)
  const hash = createHash('sha256').update(inline[0][1]).digest('base64')
  t.match(csp, `'sha256-${hash}'`, 'the CSP allows the import map by its hash')
  const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? ''
  t.same(scriptSrc.split(' ').sort(), ["'self'", `'sha256-${hash}'`].sort(), 'and nothing else inline')

  const again = await app.inject({ method: 'GET', url: '/', headers: { 'if-none-match': String(res.headers.etag) } })
  t.equal(again.statusCode, 304, 'an unchanged page is a 304')

  const imports = (JSON.parse(inline[0][1]) as { imports: Record<string, string> }).imports
  t.same(Object.keys(imports).sort(), ['@preact/signals', '@preact/signals-core', 'htm', 'htm/preact', 'openapi-fetch', 'preact', 'preact/hooks'])
  for (const [specifier, url] of Object.entries(imports)) {
    const module = await app.inject({ method: 'GET', url })
    t.equal(module.statusCode, 200, `${specifier} is served`)
    t.match(module.headers['content-type'], /javascript/)
    t.match(module.headers['cache-control'], /max-age=31536000.*immutable/, `${specifier}: versioned URL, cached for good`)
  }
})

t.test('the client modules are served and revalidated; nothing else is', async (t) => {
  const app = await buildTestApp(t)
  for (const url of ['/web/main.js', '/web/app.css', '/web/views/show-page.js', '/web/api/client.js']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], 'no-cache', `${url}: revalidated`)
    t.ok(res.headers.etag, `${url}: has an ETag`)
    const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': String(res.headers.etag) } })
    t.equal(again.statusCode, 304, `${url}: 304 when unchanged`)
  }
  for (const url of [
    '/web/api/schema.d.ts', '/web/tsconfig.json', '/web/../serve.ts', '/web/%2e%2e/serve.ts', '/web/..%2f..%2fapp.ts',
    '/web/vendor/preact@0.0.0/dist/preact.mjs', '/web/vendor/preact@11.2.0/package.json', '/web/vendor/../../package.json',
    '/web/missing.js', '/index.html', '/web/.hidden.js'
  ]) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 404, `${url} is not served`)
    t.equal(json<{ code: string }>(res).code, 'NOT_FOUND', `${url}: the contract's error body`)
  }
})

t.test('the API, docs and ops routes answer as before', async (t) => {
  const app = await buildTestApp(t)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 200)
  const unknown = await app.inject({ method: 'GET', url: '/api/nothing-here' })
  t.equal(unknown.statusCode, 404)
  t.equal(json<{ code: string }>(unknown).code, 'NOT_FOUND')
  const docs = json<{ paths: Record<string, unknown> }>(await app.inject({ method: 'GET', url: '/docs/json' }))
  t.notOk(Object.keys(docs.paths).some((path) => path === '/' || path.startsWith('/web')), 'the web routes are not part of the API document')
})
