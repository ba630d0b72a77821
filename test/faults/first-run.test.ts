// A first run, as a new user does it: `npm start` with no MONGODB_URI and no mongod on the
// machine starts the embedded database at once, never trying a download, and says in one JSON
// line what it chose and why. The download mirror is an address nothing answers, so an attempt
// fails fast (and says so) instead of reaching the internet; the opt-in test shows an attempt
// is visible. A port in use is reported before anything else starts; a normal shutdown logs
// nothing at warn.
import t from 'tap'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, waitFor, GiveUp, type TestLike } from './processes.js'
import { startNodeScript, type Child } from '../setup/processes.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

interface LogLine { level: number, msg: string, [key: string]: unknown }
const lines = (output: string): LogLine[] => output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine)

/** `npm start` (tsx src/server.ts) with an empty home and download cache: a machine with no mongod. */
function start (t: TestLike, port: number, extra: Record<string, string> = {}): Child {
  const home = mkdtempSync(join(tmpdir(), 'modex-first-run-'))
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', HOME: home, MONGOMS_DOWNLOAD_DIR: join(home, 'mongod'), MONGOMS_DOWNLOAD_MIRROR: 'http://127.0.0.1:1', PORT: String(port), LOG_LEVEL: 'info', ...extra }
  for (const key of ['MONGODB_URI', 'MONGOMS_SYSTEM_BINARY', 'HOST', 'MONGOD_DOWNLOAD', 'MODEX_CRASH_AT']) if (!(key in extra)) delete env[key]
  // stdout is a pipe, not a terminal: the logs are JSON lines.
  const child = startNodeScript('server', SERVER, [], { cwd: ROOT, env })
  t.teardown(async () => {
    child.kill('SIGKILL')
    await child.waitExit(5000)
    rmSync(home, { recursive: true, force: true })
    if (!t.passing()) t.comment(child.output.slice(-4000))
  })
  return child
}

async function waitListening (child: Child, port: number): Promise<void> {
  await waitFor('the server to answer /health', 60_000, async () => {
    if (!child.running) throw new GiveUp(`exited: ${JSON.stringify(child.exit)}\n${child.output}`)
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })
    return res.status === 200 ? true : undefined
  }, 200)
}

t.test('no mongod here: the embedded database at once, no download attempted, the choice logged', async (t) => {
  const port = await freePort()
  const child = start(t, port)
  await waitListening(child, port)
  t.notMatch(child.output, /MongoMemoryServer Instance failed|protocol mismatch|Downloading/i, 'no download was attempted')
  const log = lines(child.output)
  const choice = log.filter((l) => typeof l.database === 'string')
  t.equal(choice.length, 1, 'one line says which database')
  t.equal(choice[0]?.database, 'embedded')
  t.match(choice[0]?.reason, /no mongod .* is cached or configured .*MONGOMS_SYSTEM_BINARY.*MONGOD_DOWNLOAD/, 'and why')
  t.notOk(child.output.split('\n').some((l) => l.trim() !== '' && !l.startsWith('{')), 'every line is JSON (stdout is not a terminal)')
  t.ok(log.some((l) => /listening at http:\/\/127\.0\.0\.1:/.test(l.msg)), 'listens on 127.0.0.1 in development')

  child.kill('SIGTERM')
  const exit = await child.waitExit(15_000)
  t.same(exit, { code: 0, signal: null }, 'a normal shutdown exits 0')
  const loud = lines(child.output).filter((l) => l.level >= 40)
  t.same(loud.map((l) => l.msg), [], 'and logs nothing at warn or above')
})

t.test('MONGOD_DOWNLOAD=true opts in to a download (here the mirror refuses it: embedded, and why)', async (t) => {
  const port = await freePort()
  const child = start(t, port, { MONGOD_DOWNLOAD: 'true' })
  await waitListening(child, port)
  // mongodb-memory-server downloads over https only: the http mirror fails at once, saying so.
  t.match(child.output, /protocol mismatch/, 'a download was attempted')
  const choice = lines(child.output).filter((l) => typeof l.database === 'string')
  t.equal(choice.length, 1)
  t.equal(choice[0]?.database, 'embedded')
  t.match(choice[0]?.reason, /MONGOD_DOWNLOAD=true allows downloading one, but it did not start/)
})

t.test('a port in use is reported at once, before any database starts', async (t) => {
  const holder = net.createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())))
  const port = (holder.address() as net.AddressInfo).port
  const child = start(t, port)
  const exit = await child.waitExit(30_000)
  t.same(exit, { code: 1, signal: null }, 'exits 1')
  const log = lines(child.output)
  t.ok(log.some((l) => l.level === 50 && l.msg.includes(`127.0.0.1:${port} is not available`)), 'one error line names the address')
  t.notOk(log.some((l) => typeof l.database === 'string'), 'no database was started')
})
