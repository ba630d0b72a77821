// Child processes of the benchmark (embedded database, service): started with this Node and
// tsx, stopped at the end, on SIGINT/SIGTERM, and when the benchmark dies.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'

const children = new Set<ChildProcess>()

export interface Started { child: ChildProcess, match: string }

/** Spawns `node [execArgv] --import tsx <script> [args]` (with an IPC channel: CPU queries) and waits for a stdout line matching `pattern`. */
export async function startScript (name: string, script: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, execArgv: string[] = []): Promise<Started> {
  const path = fileURLToPath(new URL(script, import.meta.url))
  const child = spawn(process.execPath, [...execArgv, '--import', 'tsx', path, ...args], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000)
    // Warnings and errors of the children are worth seeing while the benchmark runs.
    process.stderr.write(`[${name}] ${b.toString()}`)
  })
  const match = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000)
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString()
      const m = pattern.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[0])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited early (code ${code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`))
    })
  })
  // BENCH_CHILD_LOG_DIR keeps each child's log (with BENCH_LOG_LEVEL=info: every expiry, every
  // request), to see what a process did during a phase; otherwise it is read and dropped.
  const logDir = process.env.BENCH_CHILD_LOG_DIR
  if (logDir !== undefined) child.stdout?.pipe(createWriteStream(`${logDir}/${name.replace(/\W+/g, '-')}-${child.pid}.log`))
  else child.stdout?.resume()
  return { child, match }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild (child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Stops every child still running, newest first (the service before its database). */
export async function stopAll (): Promise<void> {
  for (const child of [...children].reverse()) await stopChild(child)
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
// Last resort: never leave a child behind when the benchmark itself exits.
process.on('exit', () => { for (const child of children) child.kill('SIGKILL') })
