/**
 * The environment for a process a test starts (a database, a service instance, the benchmark)
 * without tap's coverage hooks. Those children load the sources through tsx, not tap's loader;
 * their coverage, merged with the test processes' own for the same files, garbled the report.
 * What the children run is covered by the in-process tests.
 */
export function childEnv (extra: NodeJS.ProcessEnv = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(base)) {
    if (key.startsWith('_TAPJS_PROCESSINFO_') || key === 'NODE_V8_COVERAGE') continue
    env[key] = value
  }
  const options = (base.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o !== '' && !o.includes('@tapjs/processinfo'))
  if (options.length > 0) env.NODE_OPTIONS = options.join(' ')
  else delete env.NODE_OPTIONS
  return { ...env, ...extra }
}
