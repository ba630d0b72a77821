// Small JSON-over-HTTP helpers for the benchmark's setup and checks (the load itself is autocannon).
import { connect } from 'node:net'

export interface Answer<T> { status: number, body: T, headers: Headers }

export async function call<T = Record<string, unknown>> (base: string, method: string, path: string, body?: unknown, token?: string): Promise<Answer<T>> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* not JSON: keep the text */ }
  return { status: res.status, body: parsed as T, headers: res.headers }
}

export async function expect<T> (answer: Promise<Answer<T>>, status: number, what: string): Promise<T> {
  const a = await answer
  if (a.status !== status) throw new Error(`${what}: expected ${status}, got ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`)
  return a.body
}

/** Runs `fn` over `items` with at most `limit` at a time; `onDone` after each. */
export async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T, index: number) => Promise<R>, onDone?: (done: number) => void): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  let done = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
      onDone?.(++done)
    }
  }))
  return out
}

/** Sum of a Prometheus counter over all its label sets, and per value of `label`. */
export function readCounter (text: string, name: string, label: string): { total: number, by: Record<string, number> } {
  const by: Record<string, number> = {}
  let total = 0
  const line = new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.e+-]+)$`)
  for (const l of text.split('\n')) {
    const m = line.exec(l)
    if (m === null) continue
    const value = Number(m[2])
    total += value
    const key = new RegExp(`${label}="([^"]*)"`).exec(m[1] ?? '')?.[1] ?? ''
    by[key] = (by[key] ?? 0) + value
  }
  return { total, by }
}

/** Nearest-rank percentile of an unsorted list (0 when empty). */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

export const progress = (text: string): void => { process.stderr.write(`\r\x1b[K${text}`) }
export const progressDone = (text: string): void => { process.stderr.write(`\r\x1b[K${text}\n`) }

export interface BurstRequest { path: string, token: string, body: string }
/**
 * Sends every request at the same instant, each on a connection of its own (no keep-alive: a
 * buyer's first request), as POSTs. Latency is from the request's start, connect included.
 *
 * Raw sockets and request bytes built before the clock starts, by hand: the burst's client runs
 * on the same cores as the service, and Node's HTTP client cost about as much CPU per request as
 * the service's answer to it (≈ 0.4–0.6 ms, scripts/request-cpu.ts --burst), which the burst's
 * elapsed time then measured too. autocannon, the sustained phases' client, is as lean as this,
 * but it keeps its connections open. The answer is read up to its content-length (or the close).
 */
export async function burst (base: string, requests: BurstRequest[]): Promise<{ answers: Array<{ status: number, ms: number }>, elapsedMs: number }> {
  const url = new URL(base)
  const host = url.hostname
  const port = Number(url.port)
  const wire = requests.map((r) => Buffer.from(
    `POST ${r.path} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\nauthorization: Bearer ${r.token}\r\n` +
    `content-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`))
  const t0 = performance.now()
  const answers = await Promise.all(wire.map(async (bytes) => await new Promise<{ status: number, ms: number }>((resolve) => {
    const started = performance.now()
    let head = ''
    let status = 0
    let remaining = -1
    let done = false
    const finish = (code: number): void => {
      if (done) return
      done = true
      socket.destroy()
      resolve({ status: code, ms: Math.round(performance.now() - started) })
    }
    const socket = connect({ host, port, noDelay: true }, () => { socket.write(bytes) })
    socket.on('data', (chunk: Buffer) => {
      if (remaining < 0) {
        head += chunk.toString('latin1')
        const at = head.indexOf('\r\n\r\n')
        if (at < 0) return
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
        const length = /\r\ncontent-length: *(\d+)/i.exec(head.slice(0, at))
        remaining = length === null ? Infinity : Number(length[1]) - (head.length - at - 4)
      } else {
        remaining -= chunk.length
      }
      if (remaining <= 0) finish(status)
    })
    socket.once('end', () => { finish(remaining < 0 ? 0 : status) })
    socket.once('error', () => { finish(0) })
  })))
  return { answers, elapsedMs: performance.now() - t0 }
}
