// The Dockerfile, checked statically (no Docker engine runs here), and the thing it ships
// checked for real: `npm run build`, then the image's own CMD started with node alone (no tsx,
// none of tap's loaders) in production mode against the test run's database, its own
// HEALTHCHECK command run against it, and a graceful exit on SIGTERM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import mongoose from 'mongoose'
import t from 'tap'
import { databaseUri } from '../helper.js'
import { NO_COVERAGE } from '../setup/child-env.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8')

interface Instruction { keyword: string, args: string }

/** Dockerfile instructions: comments dropped, `\` continuations joined. */
function parseDockerfile (text: string): Instruction[] {
  const instructions: Instruction[] = []
  let current = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && current === '')) continue
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' '
      continue
    }
    current += line
    const match = /^(\S+)\s*(.*)$/s.exec(current.trim())
    if (match !== null) instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim() })
    current = ''
  }
  return instructions
}

/** Instructions grouped by stage (each starts at a FROM). */
function stagesOf (instructions: Instruction[]): Instruction[][] {
  const stages: Instruction[][] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') stages.push([])
    stages.at(-1)?.push(instruction)
  }
  return stages
}

/** The JSON (exec) form of CMD / HEALTHCHECK CMD, or undefined if it is the shell form. */
function execForm (args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args)
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined
  } catch {
    return undefined
  }
}

const instructions = parseDockerfile(dockerfileText)
const stages = stagesOf(instructions)
const runtime = stages.at(-1) ?? []
const runtimeOf = (keyword: string): Instruction[] => runtime.filter((i) => i.keyword === keyword)

const cmd = execForm(runtimeOf('CMD').at(-1)?.args ?? '')
const healthcheckArgs = runtimeOf('HEALTHCHECK').at(-1)?.args ?? ''
const healthcheckCmd = execForm(healthcheckArgs.replace(/^(--\S+\s+)*CMD\s+/, ''))

t.test('Dockerfile: static checks', async (t) => {
  t.ok(stages.length >= 2, `multi-stage (${stages.length} FROM)`)
  const build = stages.slice(0, -1).flat()
  t.ok(build.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args)), 'a build stage runs npm ci')
  t.ok(build.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args)), 'a build stage runs npm run build')

  const runs = runtimeOf('RUN').map((i) => i.args).join('\n')
  t.match(runs, /\bnpm ci\b[^\n]*--omit=dev/, 'the runtime stage installs production dependencies only (npm ci --omit=dev)')
  t.notMatch(runs, /npm run build|\btsc\b|\btsx\b/, 'the runtime stage does not compile')
  const envs = runtimeOf('ENV').map((i) => i.args).join(' ') + ' ' + runs
  t.match(envs, /MONGOMS_DISABLE_POSTINSTALL[= ]1\b/, 'mongodb-memory-server does not download a mongod at install')
  t.match(runtimeOf('ENV').map((i) => i.args).join(' '), /NODE_ENV[= ]production\b/, 'NODE_ENV=production')
  t.ok(runtimeOf('COPY').some((i) => /--from=\S+/.test(i.args) && /\bdist\b/.test(i.args)), 'copies dist/ from the build stage')
  t.notOk(runtimeOf('COPY').some((i) => /(^|\s)(\.\/)?src\b/.test(i.args)), 'does not ship the TypeScript sources')

  const user = runtimeOf('USER').at(-1)?.args
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `runs as a non-root user (${user ?? 'none'})`)
  t.ok(runtimeOf('EXPOSE').some((i) => /\b3000\b/.test(i.args)), 'EXPOSE 3000')

  t.ok(healthcheckCmd !== undefined, 'HEALTHCHECK CMD in exec form')
  t.match(healthcheckCmd?.join(' ') ?? '', /\/health\b/, 'HEALTHCHECK asks /health')
  t.match(healthcheckArgs, /--interval=\S+/, 'HEALTHCHECK has an interval')

  t.ok(cmd !== undefined, 'CMD in exec form (node is PID 1 and gets SIGTERM itself)')
  t.equal(cmd?.[0], 'node', 'CMD runs node')
  t.match(cmd?.[1] ?? '', /^dist\/.+\.js$/, 'CMD runs compiled JavaScript from dist/')
  t.notMatch(cmd?.join(' ') ?? '', /\btsx\b|\.ts\b|--import|--loader/, 'no TypeScript at run time')

  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
  for (const entry of ['node_modules', 'dist', '.git', 'test', '.tap']) t.ok(ignore.includes(entry), `.dockerignore lists ${entry}`)
})

t.test('package.json: the runtime stage has what the server imports', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>, devDependencies?: Record<string, string> }
  const deps = pkg.dependencies ?? {}
  t.notOk('tsx' in deps, 'tsx is a dev dependency (the image runs node on dist/)')
  t.notOk('typescript' in deps, 'typescript is a dev dependency')
  // Every bare import of src/ (static or dynamic) must be a builtin or a production dependency.
  const missing: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8')
        for (const m of text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
          const specifier = m[1] ?? m[2]
          // `import type` disappears at compile time.
          if (specifier.startsWith('.') || /^\s*(import|export)\s+type\s/.test(m[0])) continue
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]
          if (specifier.startsWith('node:') || builtinModules.includes(name)) continue
          if (!(name in deps)) missing.push(`${path.slice(root.length)}: ${specifier}`)
        }
      }
    }
  }
  walk(join(root, 'src'))
  t.same(missing, [], 'no import of src/ needs a devDependency')
})

/** `uri` with its database path set to `name`, keeping hosts, credentials and options. */
function withDatabase (uri: string, name: string): string {
  const q = uri.indexOf('?')
  const base = q === -1 ? uri : uri.slice(0, q)
  const query = q === -1 ? '' : uri.slice(q)
  const slash = base.indexOf('/', base.indexOf('://') + 3)
  return `${slash === -1 ? base : base.slice(0, slash)}/${name}${query}`
}

t.test('withDatabase', async (t) => {
  t.equal(withDatabase('mongodb://127.0.0.1:1234', 'x'), 'mongodb://127.0.0.1:1234/x')
  t.equal(withDatabase('mongodb://127.0.0.1:1234/', 'x'), 'mongodb://127.0.0.1:1234/x')
  t.equal(withDatabase('mongodb://a:1,b:2/other?replicaSet=rs0', 'x'), 'mongodb://a:1,b:2/x?replicaSet=rs0')
  t.equal(withDatabase('mongodb://u:p@h/?authSource=admin', 'x'), 'mongodb://u:p@h/x?authSource=admin')
  t.equal(withDatabase('mongodb+srv://u:p@c.example.net/?retryWrites=true', 'x'), 'mongodb+srv://u:p@c.example.net/x?retryWrites=true')
})

/**
 * The environment of a production container: nothing inherited from tap. (tap's spawn wrapper
 * still adds its loader to NODE_OPTIONS; NO_COVERAGE keeps it from recording coverage.)
 */
function containerEnv (settings: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...NO_COVERAGE, ...settings }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

interface Exit { code: number | null, signal: NodeJS.Signals | null }
function exited (child: ChildProcess, ms: number): Promise<Exit | 'timeout'> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal })
    })
  })
}

async function statusOf (url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}

t.test('the compiled server runs in production mode', { timeout: 180_000 }, async (t) => {
  const script = cmd?.[1] ?? 'dist/src/server.js'
  // Without tap's NODE_OPTIONS: tsc gains nothing from them.
  const { NODE_OPTIONS: _options, NODE_V8_COVERAGE: _coverage, ...buildEnv } = process.env
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', timeout: 120_000, env: buildEnv })
  t.equal(build.status, 0, 'npm run build succeeds', { output: `${build.stdout}\n${build.stderr}`.slice(-4_000) })
  if (build.status !== 0) return
  t.ok(existsSync(join(root, script)), `the image's CMD script exists after the build (${script})`)

  const port = await freePort()
  const dbName = `modex_deploy_${process.pid}`
  const uri = withDatabase(databaseUri(), dbName)
  const child = spawn(process.execPath, [script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: containerEnv({
      NODE_ENV: 'production',
      MONGODB_URI: uri,
      JWT_SECRET: 'deploy-test-secret-0123456789abcdef',
      CORS_ORIGIN: 'https://app.example.com',
      ADMIN_EMAIL: 'admin@deploy.test',
      ADMIN_PASSWORD: 'deploy-admin-password',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn'
    })
  })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    const connection = await mongoose.createConnection(databaseUri(), { dbName }).asPromise()
    await connection.dropDatabase()
    await connection.close()
  })

  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  let health = 0
  let ready = 0
  while (Date.now() < deadline && child.exitCode === null) {
    health = await statusOf(`${base}/health`)
    ready = health === 200 ? await statusOf(`${base}/ready`) : 0
    if (ready === 200) break
    await sleep(200)
  }
  t.equal(health, 200, 'GET /health answers 200', { output: output.slice(-4_000) })
  t.equal(ready, 200, 'GET /ready answers 200 (database reachable, scheduler running)', { output: output.slice(-4_000) })
  if (ready !== 200) return

  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@deploy.test', password: 'deploy-admin-password' })
  })
  t.equal(login.status, 200, 'the admin from ADMIN_EMAIL/ADMIN_PASSWORD can sign in')
  const page = await fetch(`${base}/`)
  t.equal(page.status, 200, 'GET / serves the web client from the build')
  t.match(await page.text(), /<script type="module" src="\/web\/main\.js">/)
  t.equal(await statusOf(`${base}/web/main.js`), 200, 'and its modules')

  if (healthcheckCmd !== undefined && healthcheckCmd[0] === 'node') {
    const probe = spawnSync(process.execPath, healthcheckCmd.slice(1), { encoding: 'utf8', timeout: 15_000, env: containerEnv({ PORT: String(port) }) })
    t.equal(probe.status, 0, "the Dockerfile's HEALTHCHECK command passes against the running server", { stderr: probe.stderr })
  }

  child.kill('SIGTERM')
  const exit = await exited(child, 15_000)
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: exits 0 within 15 s', { output: output.slice(-4_000) })

  if (healthcheckCmd !== undefined && healthcheckCmd[0] === 'node') {
    const probe = spawnSync(process.execPath, healthcheckCmd.slice(1), { encoding: 'utf8', timeout: 15_000, env: containerEnv({ PORT: String(port) }) })
    t.not(probe.status, 0, 'and the HEALTHCHECK command fails once it is gone')
  }
})

t.test('production refuses to start without its required settings', { timeout: 120_000 }, async (t) => {
  const script = cmd?.[1] ?? 'dist/src/server.js'
  if (!existsSync(join(root, script))) {
    t.fail(`${script} is missing: the build above failed`)
    return
  }
  const cases: Array<{ name: string, env: Record<string, string>, names: RegExp }> = [
    { name: 'no MONGODB_URI', env: { JWT_SECRET: 'deploy-test-secret-0123456789abcdef' }, names: /MONGODB_URI/ },
    { name: 'no JWT_SECRET', env: { MONGODB_URI: 'mongodb://127.0.0.1:9/modex' }, names: /JWT_SECRET/ },
    { name: 'a short JWT_SECRET', env: { MONGODB_URI: 'mongodb://127.0.0.1:9/modex', JWT_SECRET: 'short' }, names: /JWT_SECRET/ }
  ]
  for (const c of cases) {
    const result = spawnSync(process.execPath, [script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
      env: containerEnv({ NODE_ENV: 'production', PORT: '0', ...c.env })
    })
    t.ok(result.status !== null && result.status !== 0, `${c.name}: exits non-zero (${String(result.status)})`)
    const lines = result.stderr.trim().split('\n')
    t.equal(lines.length, 1, `${c.name}: one line on stderr`, { stderr: result.stderr })
    t.match(lines[0], c.names, `${c.name}: the line names the setting`)
  }
})
