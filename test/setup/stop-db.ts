// tap `after`: stops the database the before-script started, then checks that the coverage
// of this run comes from test processes only (see child-env.ts for why that matters).
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LOG_FILE, readDatabaseState, STATE_FILE } from './state.js'

const state = readDatabaseState()
const runStarted = existsSync(STATE_FILE) ? statSync(STATE_FILE).mtimeMs : 0
if (state?.pid !== undefined) {
  try { process.kill(state.pid, 'SIGTERM') } catch { /* already gone */ }
}
rmSync(STATE_FILE, { force: true })
rmSync(LOG_FILE, { force: true })

const tapDir = fileURLToPath(new URL('../../.tap/', import.meta.url))
const strays = strayCoverage(join(tapDir, 'coverage'), join(tapDir, 'processinfo'), runStarted)
if (strays.length > 0) {
  console.error(`coverage was recorded by processes that are not test files, which garbles the report:\n  ${strays.join('\n  ')}\n` +
    'start children with startNodeScript() (test/setup/processes.ts), childEnv() (test/setup/child-env.ts) or NO_COVERAGE in their environment')
  process.exitCode = 1
}

/** Coverage files of this run, of src/ files, written by a process whose script is not a test file. */
function strayCoverage (coverageDir: string, infoDir: string, since: number): string[] {
  if (!existsSync(coverageDir)) return []
  const strays: string[] = []
  for (const name of readdirSync(coverageDir)) {
    const file = join(coverageDir, name)
    if (statSync(file).mtimeMs < since || !existsSync(join(infoDir, name))) continue
    const info = JSON.parse(readFileSync(join(infoDir, name), 'utf8')) as { argv?: string[] }
    const script = info.argv?.[1] ?? ''
    if (/\.test\.ts$/.test(script)) continue
    const coverage = JSON.parse(readFileSync(file, 'utf8')) as { result?: Array<{ url: string }> }
    if (coverage.result?.some((r) => r.url.includes('/src/')) === true) strays.push(`${script} (${name})`)
  }
  return strays
}
