import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FastifyBaseLogger } from 'fastify'
import { Gauge, type Registry } from 'prom-client'
import { cpuMsOf } from './process-cpu.js'

export interface EmbeddedMongoProcess {
  uri: string
  /** SIGTERM, then SIGKILL after a grace; resolves once the process has exited. */
  stop: () => Promise<void>
  /** The database process's CPU time so far, as it reports it (null if it does not answer). */
  cpuMs: () => Promise<number | null>
}

const STOP_GRACE_MS = 5000

/**
 * Forks the embedded database into a child process (src/embedded-mongo-process.ts) and waits for
 * its URI. Started and stopped with the service: stop() on shutdown; if the service dies anyway,
 * the child sees its IPC channel close and exits; if the child dies first, `onExit` is told.
 */
export async function startEmbeddedMongoProcess (log: Pick<FastifyBaseLogger, 'error'>, opts: { standalone: boolean }, onExit: (code: number | null) => void): Promise<EmbeddedMongoProcess> {
  // Run from source (tsx) or built (dist): the entry has this module's own extension.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js'
  const entry = fileURLToPath(new URL(`./embedded-mongo-process.${ext}`, import.meta.url))
  // Inherit the loader (tsx) and profiling flags, but not a debugger's port, which would clash.
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--inspect'))
  const child = fork(entry, opts.standalone ? ['--standalone'] : [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let stopping = false
  const uri = await new Promise<string>((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready') {
        child.off('exit', onEarlyExit)
        child.off('message', onMessage)
        resolve(String((message as { uri: unknown }).uri))
      }
    }
    const onEarlyExit = (code: number | null): void => { reject(new Error(`the embedded database process exited before it was ready (code ${code})`)) }
    child.on('message', onMessage)
    child.once('exit', onEarlyExit)
  })
  child.once('exit', (code, signal) => {
    if (stopping) return
    log.error({ code, signal }, 'the embedded database process died')
    onExit(code)
  })
  let stopped: Promise<void> | undefined
  return {
    uri,
    cpuMs: async () => await cpuMsOf(child),
    stop: async () => {
      stopping = true
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
        child.once('exit', () => { clearTimeout(timer); resolve() })
        child.kill('SIGTERM')
      })
      await stopped
    }
  }
}

/** modex_local_database_cpu_seconds_total: the forked database's own CPU time, read when scraped. */
export function exposeDatabaseCpu (registry: Registry, cpuMs: () => Promise<number | null>): void {
  // A gauge set at collection (not a counter): the value is the child's running total, read from it.
  const gauge = new Gauge({
    name: 'modex_local_database_cpu_seconds_total',
    help: 'CPU seconds (user + system) of the local database process this service started',
    registers: [registry],
    async collect () {
      const ms = await cpuMs()
      if (ms !== null) this.set(ms / 1000)
    }
  })
  void gauge
}
