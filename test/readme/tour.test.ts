// The README's curl tour, run as written: the service started with the settings the README
// names, then the tour's fenced `sh` blocks run with bash against it, twice (the tour must be
// re-runnable against one process), every `# →` line checked against what the command before
// it printed. Then `npm run seed`, twice: the second run creates nothing.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ADMIN as FAULT_ADMIN, call, startDatabase, startInstance, waitReady } from '../faults/processes.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The tour section: from its heading to the next one. */
const section = README.slice(README.indexOf('## A tour with curl'), README.indexOf('\n## ', README.indexOf('## A tour with curl') + 1))
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1])
/** `ADMIN_EMAIL=… ADMIN_PASSWORD=… HOLD_SECONDS=3 npm start`, as the README says to start it. */
const startLine = /`((?:[A-Z_]+=\S+ )+)npm start`/.exec(section)?.[1] ?? ''
const settings = Object.fromEntries(startLine.trim().split(/\s+/).map((kv) => kv.split('=') as [string, string]))
/** Every `# → output` line, in order. */
const expected = blocks.join('\n').split('\n').filter((l) => l.startsWith('# → ')).map((l) => l.slice('# → '.length))

t.test('the README tour, as written', async (t) => {
  t.ok(blocks.length >= 2, `the tour has its blocks (${blocks.length})`)
  t.ok(expected.length >= 6, `and its expected answers (${expected.length})`)
  t.ok(settings.ADMIN_EMAIL !== undefined && settings.HOLD_SECONDS !== undefined, `the start line names its settings (${startLine})`)

  // The instance, started the way the README says (on a free port; the tour reads $B).
  const db = await startDatabase(t)
  const app = await startInstance(t, {
    name: 'tour',
    uri: `${db.uri.replace(/\/?$/, '/')}modex_tour`,
    env: { ...settings, NODE_ENV: 'development', SWEEP_SECONDS: '30', LOG_LEVEL: 'warn' }
  })
  t.not(settings.ADMIN_EMAIL, FAULT_ADMIN.email)
  await waitReady(app)

  for (const run of [1, 2]) {
    const result = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', blocks.join('\n')], {
      cwd: ROOT, env: { ...process.env, B: app.url }, encoding: 'utf8', timeout: 60_000
    })
    t.equal(result.status, 0, `run ${run}: the tour's commands all succeed${result.status !== 0 ? `\n${result.stderr}` : ''}`)
    const lines = result.stdout.split('\n')
    // Each expected answer in order; other output (the metrics lines) may sit between them.
    let at = 0
    for (const answer of expected) {
      const found = lines.findIndex((line, i) => i >= at && line.trim() === answer)
      t.ok(found >= 0, `run ${run}: prints ${answer}`)
      if (found >= 0) at = found + 1
    }
    t.match(result.stdout, /^modex_holds_total \d+/m, `run ${run}: the metrics show the holds`)
  }

  // The seed script against the same instance, twice: nothing duplicated.
  const env = { ...process.env, ADMIN_EMAIL: settings.ADMIN_EMAIL, ADMIN_PASSWORD: settings.ADMIN_PASSWORD }
  const seed = (): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--url', app.url], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 })
  const count = async (): Promise<{ movies: number, shows: number }> => {
    const admin = await call<{ token: string }>(app.url, 'POST', '/api/auth/login', { body: { email: settings.ADMIN_EMAIL, password: settings.ADMIN_PASSWORD } })
    const movies = await call<{ total: number }>(app.url, 'GET', '/api/movies')
    const shows = await call<{ total: number }>(app.url, 'GET', '/api/admin/shows', { token: admin.body.token })
    return { movies: movies.body.total, shows: shows.body.total }
  }
  const first = seed()
  t.equal(first.status, 0, `the seed runs${first.status !== 0 ? `: ${String(first.stderr)}` : ''}`)
  const afterFirst = await count()
  const second = seed()
  t.equal(second.status, 0, 'and runs again')
  t.match(String(second.stdout), /seeded 0 new movies .* and 0 new shows/, 'the second run creates nothing')
  t.same(await count(), afterFirst, 'the same movies and shows after the second run')
})
