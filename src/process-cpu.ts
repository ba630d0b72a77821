// A process's own CPU time, asked for over its IPC channel: the benchmark (and the service, for
// the database it starts) read CPU per process from the processes themselves, not from outside.
import { performance } from 'node:perf_hooks'

export interface CpuQuery { type: 'cpu?' }
export interface CpuAnswer {
  type: 'cpu', userMs: number, systemMs: number
  /** How long the main thread's event loop has been busy (performance.eventLoopUtilization().active). */
  loopActiveMs?: number
}

export function isCpuAnswer (message: unknown): message is CpuAnswer {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'cpu'
}

/** Answers `{ type: 'cpu?' }` on the IPC channel, if this process has one, with process.cpuUsage(). */
export function answerCpuQueries (): void {
  if (process.send === undefined) return
  process.on('message', (message: unknown) => {
    if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== 'cpu?') return
    const { user, system } = process.cpuUsage()
    const answer: CpuAnswer = { type: 'cpu', userMs: user / 1000, systemMs: system / 1000, loopActiveMs: performance.eventLoopUtilization().active }
    process.send?.(answer)
  })
  // The channel alone must not keep a process alive that has nothing else to do.
  process.channel?.unref()
}

type Child = { send?: (message: CpuQuery) => boolean, on: (event: 'message', fn: (m: unknown) => void) => unknown, off: (event: 'message', fn: (m: unknown) => void) => unknown, connected?: boolean }

/** Asks a child started with an IPC channel for its CPU milliseconds (user + system); null if it does not answer. */
export async function cpuMsOf (child: Child, timeoutMs = 2000): Promise<number | null> {
  return (await timesOf(child, timeoutMs))?.cpuMs ?? null
}

/** A child's CPU milliseconds and its event loop's busy milliseconds (NaN if it does not say); null if it does not answer. */
export async function timesOf (child: Child, timeoutMs = 2000): Promise<{ cpuMs: number, loopActiveMs: number } | null> {
  if (child.send === undefined || child.connected === false) return null
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { child.off('message', onMessage); resolve(null) }, timeoutMs)
    function onMessage (message: unknown): void {
      if (!isCpuAnswer(message)) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve({ cpuMs: message.userMs + message.systemMs, loopActiveMs: message.loopActiveMs ?? NaN })
    }
    child.on('message', onMessage)
    child.send?.({ type: 'cpu?' })
  })
}
