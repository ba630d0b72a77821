// Child processes of the tests and the scripts (a database, service instances, the benchmark's
// service): `node --import tsx <script>`, started without coverage (child-env.ts), their output
// kept (bounded), stopped gracefully or killed, and never left behind when this process exits.
// It imports no tap, so scripts (the benchmark) use it too; under test/, the before-script's
// coverage of child-env.ts stays out of the report. test/faults/processes.ts adds tap's teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { childEnv } from './child-env.js'

const OUTPUT_LIMIT = 64 * 1024

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

/** One child process: its output (the last OUTPUT_LIMIT characters) and how it ended. */
export class Child {
  readonly exited: Promise<Exit>
  exit: Exit | undefined
  private out = ''
  private stdoutText = ''

  constructor (readonly name: string, readonly proc: ChildProcess) {
    const keep = (text: string, stdout: boolean): void => {
      this.out = trim(this.out + text)
      if (stdout) this.stdoutText = trim(this.stdoutText + text)
    }
    proc.stdout?.on('data', (chunk: Buffer) => { keep(chunk.toString('utf8'), true) })
    proc.stderr?.on('data', (chunk: Buffer) => { keep(chunk.toString('utf8'), false) })
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal }
        resolve(this.exit)
      })
    })
  }

  get running (): boolean { return this.exit === undefined }
  /** stdout and stderr as they came. */
  get output (): string { return this.out.slice(-OUTPUT_LIMIT) }
  get stdout (): string { return this.stdoutText.slice(-OUTPUT_LIMIT) }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.proc.kill(signal)
  }

  /** The exit, or undefined if the process is still running after `ms`. */
  async waitExit (ms: number): Promise<Exit | undefined> {
    return await Promise.race([this.exited, sleep(ms, undefined, { ref: false }).then(() => undefined)])
  }

  /** The first match of `pattern` in the child's stdout; rejects if it exits first or after `ms`. */
  async waitOutput (pattern: RegExp, ms: number): Promise<RegExpExecArray> {
    return await new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(this.stdoutText)
        if (match !== null) done(() => { resolve(match) })
      }
      const onExit = (): void => {
        check()
        done(() => { reject(new Error(`${this.name} exited early (${JSON.stringify(this.exit)}): ${this.output.trim().split('\n').slice(-5).join(' | ')}`)) })
      }
      const timer = setTimeout(() => { done(() => { reject(new Error(`${this.name} did not print ${String(pattern)} within ${ms} ms`)) }) }, ms)
      let settled = false
      const done = (settle: () => void): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.proc.stdout?.off('data', check)
        settle()
      }
      this.proc.stdout?.on('data', check)
      void this.exited.then(onExit)
      check()
    })
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
  async stop (graceMs = 10_000): Promise<void> {
    await stopChild(this.proc, graceMs)
  }
}

function trim (text: string): string {
  return text.length > OUTPUT_LIMIT * 2 ? text.slice(-OUTPUT_LIMIT) : text
}

export interface StartOptions {
  /** The child's environment before childEnv() takes coverage out of it (default: this process's). */
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Node options after `--import tsx` (e.g. --cpu-prof, or an --import of a .ts file, which needs tsx first). */
  execArgv?: string[]
  /** An IPC channel (the benchmark asks its children for their CPU time over it). */
  ipc?: boolean
  /** Copies the child's stderr to ours, each chunk prefixed with its name. */
  echoStderr?: boolean
}

const live = new Set<Child>()

/** Starts `node --import tsx [execArgv] <script> [args]`; registered, so it is killed at the latest when this process exits. */
export function startNodeScript (name: string, script: string, args: string[] = [], opts: StartOptions = {}): Child {
  const stdio: Array<'ignore' | 'pipe' | 'ipc'> = ['ignore', 'pipe', 'pipe', ...opts.ipc === true ? ['ipc' as const] : []]
  // Never coverage in a child, whoever starts it (see child-env.ts and test/setup/stop-db.ts).
  const proc = spawn(process.execPath, ['--import', 'tsx', ...opts.execArgv ?? [], script, ...args], { cwd: opts.cwd, env: childEnv({}, opts.env ?? process.env), stdio })
  const child = new Child(name, proc)
  if (opts.echoStderr === true) proc.stderr?.on('data', (b: Buffer) => { process.stderr.write(`[${name}] ${b.toString()}`) })
  live.add(child)
  void child.exited.then(() => live.delete(child))
  return child
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

/** Stops every child still running, newest first (a service before its database). */
export async function stopAll (): Promise<void> {
  for (const child of [...live].reverse()) await child.stop()
}

/** SIGKILLs every child still running, at once. */
export function killAll (): void {
  for (const child of live) child.kill('SIGKILL')
}

// Last resort: never leave a child behind when this process exits (signals are each caller's policy).
process.once('exit', killAll)
