// Child processes of the benchmark (embedded database, service), on test/setup/processes.ts:
// scripts named relative to this folder, their stderr shown while the benchmark runs, and a
// SIGINT/SIGTERM stops them gracefully (the service before its database) before we exit.
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startNodeScript, stopAll, stopChild } from '../../test/setup/processes.js'

export { stopAll, stopChild }

export interface Started { child: ChildProcess, match: string }

/** Spawns `node --import tsx [execArgv] <script> [args]` (with an IPC channel: CPU queries) and waits for a stdout line matching `pattern`. */
export async function startScript (name: string, script: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, execArgv: string[] = []): Promise<Started> {
  const child = startNodeScript(name, fileURLToPath(new URL(script, import.meta.url)), args, { env, execArgv, ipc: true, echoStderr: true })
  const match = await child.waitOutput(pattern, 60_000)
  // BENCH_CHILD_LOG_DIR keeps each child's log from here on (with BENCH_LOG_LEVEL=info: every
  // expiry, every request), to see what a process did during a phase.
  const logDir = process.env.BENCH_CHILD_LOG_DIR
  if (logDir !== undefined) child.proc.stdout?.pipe(createWriteStream(`${logDir}/${name.replace(/\W+/g, '-')}-${child.proc.pid}.log`))
  return { child: child.proc, match: match[0] }
}

let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return
    interrupted = true
    process.stderr.write(`\n${signal}: stopping the service and the database\n`)
    stopAll().finally(() => process.exit(130))
  })
}
