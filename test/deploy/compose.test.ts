// docker-compose.yml: validated by Compose itself (`docker-compose config`; no Docker engine
// is needed for that) and then checked for what the deployment promises: a MongoDB replica
// set that initiates itself and is health-checked, and at least two app instances that
// point at the set and wait for it. Never skipped: without docker-compose the test fails.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../../', import.meta.url))
const COMPOSE_FILE = join(root, 'docker-compose.yml')
const SECRET = 'compose-test-secret-0123456789abcdef'

// An empty env file, so a developer's .env cannot change what the test sees.
const scratch = mkdtempSync(join(tmpdir(), 'modex-compose-'))
const emptyEnvFile = join(scratch, 'empty.env')
writeFileSync(emptyEnvFile, '')
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))

/** `docker-compose config` with a clean environment: only PATH/HOME and `env`. */
function composeConfig (env: Record<string, string>): SpawnSyncReturns<string> {
  return spawnSync('docker-compose', ['--env-file', emptyEnvFile, '-f', COMPOSE_FILE, 'config'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), ...env }
  })
}

type Doc = Record<string, unknown>
const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v)
const asDoc = (v: unknown): Doc => (isDoc(v) ? v : {})

/** `environment` as a map, whether written as a map or as a list of `K=V`. */
function environmentOf (service: Doc): Record<string, string> {
  const env = service.environment
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const text = String(entry)
      const at = text.indexOf('=')
      return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)]
    }))
  }
  return Object.fromEntries(Object.entries(asDoc(env)).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

/** `command` / healthcheck `test` as one string, whether written as a string or a list. */
const joined = (v: unknown): string => (Array.isArray(v) ? v.map(String).join(' ') : typeof v === 'string' ? v : '')

/** The assertions checkServices uses, from the root test or a subtest alike. */
type Assert = Pick<typeof t, 'ok' | 'match' | 'equal'>

function checkServices (t: Assert, services: Doc, label: string): void {
  const mongo = asDoc(services.mongo)
  t.ok(isDoc(services.mongo), `${label}: has a mongo service`)
  t.match(String(mongo.image), /^mongo:\d/, `${label}: mongo uses the official image`)
  const command = joined(mongo.command)
  t.match(command, /--replSet[ =]rs0\b/, `${label}: mongo runs as replica set rs0`)
  t.match(command, /--bind_ip_all/, `${label}: mongo listens on the compose network`)
  const mongoCheck = asDoc(mongo.healthcheck)
  const mongoTest = joined(mongoCheck.test)
  t.match(mongoTest, /rs\.status\(\)/, `${label}: mongo healthcheck asks for the replica set status`)
  t.match(mongoTest, /rs\.initiate\(/, `${label}: mongo healthcheck initiates the set`)
  t.match(mongoTest, /_id:\s*'rs0'/, `${label}: the set it initiates is rs0`)
  t.ok(mongoCheck.interval !== undefined && mongoCheck.retries !== undefined && mongoCheck.start_period !== undefined,
    `${label}: mongo healthcheck has interval, retries and start_period`)
  t.ok(joined(mongo.volumes).includes(':/data/db'), `${label}: mongo keeps its data in a volume`)

  const apps = Object.entries(services).filter(([, s]) => 'MONGODB_URI' in environmentOf(asDoc(s)))
  let instances = 0
  for (const [name, raw] of apps) {
    const app = asDoc(raw)
    const replicas = Number(asDoc(app.deploy).replicas ?? 1)
    instances += replicas
    const env = environmentOf(app)
    t.match(env.MONGODB_URI, /^mongodb:\/\/mongo:27017\/[^?]+\?(.*&)?replicaSet=rs0(&|$)/, `${label}: ${name} connects to the rs0 replica set`)
    t.equal(env.NODE_ENV, 'production', `${label}: ${name} runs in production mode`)
    t.ok('JWT_SECRET' in env, `${label}: ${name} gets JWT_SECRET`)
    t.equal(asDoc(asDoc(app.depends_on).mongo).condition, 'service_healthy', `${label}: ${name} waits for a healthy mongo`)
    const check = asDoc(app.healthcheck)
    t.match(joined(check.test), /\/health\b/, `${label}: ${name} has a healthcheck on /health`)
    t.ok(app.build !== undefined || app.image !== undefined, `${label}: ${name} is built from the Dockerfile or uses its image`)
    t.ok(app.restart !== undefined && app.restart !== 'no', `${label}: ${name} restarts`)
  }
  t.ok(instances >= 2, `${label}: at least two app instances (found ${instances} in ${apps.map(([n]) => n).join(', ')})`)
}

t.test('docker-compose validates the file', async (t) => {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8', timeout: 30_000 })
  if (probe.error !== undefined || probe.status !== 0) {
    t.fail('docker-compose is not installed, so docker-compose.yml cannot be validated: install it with ' +
      '`apt-get install -y docker-compose` (.ci/run does this)', { error: probe.error?.message, stderr: probe.stderr })
    return
  }

  const result = composeConfig({ JWT_SECRET: SECRET })
  t.equal(result.status, 0, 'docker-compose config exits 0', { stderr: result.stderr })
  if (result.status !== 0) return
  const config = asDoc(parse(result.stdout))
  checkServices(t, asDoc(config.services), 'as compose resolves it')
  for (const [name, service] of Object.entries(asDoc(config.services))) {
    const env = environmentOf(asDoc(service))
    if ('JWT_SECRET' in env) t.equal(env.JWT_SECRET, SECRET, `${name} takes JWT_SECRET from the environment`)
  }

  const withoutSecret = composeConfig({})
  t.not(withoutSecret.status, 0, 'without JWT_SECRET compose refuses the file')
  t.match(withoutSecret.stderr, /JWT_SECRET/, 'and says JWT_SECRET is missing')
})

t.test('the file as written', async (t) => {
  // The same checks on the raw file (anchors merged), so they do not depend on compose's output format.
  const doc = asDoc(parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }))
  checkServices(t, asDoc(doc.services), 'as written')
  t.ok(isDoc(doc.volumes) && Object.keys(doc.volumes).length > 0, 'declares a named volume')
  t.notMatch(readFileSync(COMPOSE_FILE, 'utf8'), /ADMIN_PASSWORD:\s*\$\{ADMIN_PASSWORD:-[^}]/, 'no default admin password is baked in')
})
