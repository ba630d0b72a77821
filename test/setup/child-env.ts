/**
 * The environment for a child process a test or a script starts (a database, a service instance, the benchmark)
 * without coverage. tap's @tapjs/processinfo wraps `child_process.spawn` and puts its own
 * `--import` back into NODE_OPTIONS of every child, whatever env we pass, so stripping hooks is
 * not enough: `_TAPJS_PROCESSINFO_COVERAGE_=0` is the switch it honours. Without it, a child that
 * exited normally (SIGTERM) wrote coverage of src/ files as tsx's CLI transpiled them (other
 * source maps), which merged with the test processes' own garbled the report; a SIGKILLed child
 * wrote none, so the report changed from run to run. test/setup/stop-db.ts refuses any such file.
 * What the children run is covered by the in-process tests.
 */
export const NO_COVERAGE = { _TAPJS_PROCESSINFO_COVERAGE_: '0' } as const

export function childEnv (extra: NodeJS.ProcessEnv = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(base)) {
    if (key.startsWith('_TAPJS_PROCESSINFO_') || key === 'NODE_V8_COVERAGE') continue
    env[key] = value
  }
  const options = (base.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o !== '' && !o.includes('@tapjs/processinfo'))
  if (options.length > 0) env.NODE_OPTIONS = options.join(' ')
  else delete env.NODE_OPTIONS
  return { ...env, ...NO_COVERAGE, ...extra }
}
