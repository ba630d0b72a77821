// A TCP proxy that injects network faults between a service instance and its database:
// every connection is piped through, and `resetRandomConnection` ends one of them with a TCP
// RST on both sides (what a flaky network or a load balancer dropping a flow looks like).
import net from 'node:net'
import type { TestLike } from './processes.js'

export interface FaultProxy {
  port: number
  /** Live connections through the proxy. */
  readonly connections: number
  /** Connections reset so far. */
  readonly resets: number
  /** Resets one live connection picked at random; false when there is none. */
  resetRandomConnection: () => boolean
  /** Resets a random connection every `ms` until the returned function is called. */
  resetEvery: (ms: number) => () => void
}

export async function startFaultProxy (t: TestLike, target: { host: string, port: number }): Promise<FaultProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>()
  let resets = 0
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    const pair: [net.Socket, net.Socket] = [client, upstream]
    pairs.add(pair)
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const timers = new Set<NodeJS.Timeout>()
  t.teardown(async () => {
    for (const timer of timers) clearInterval(timer)
    for (const [a, b] of pairs) { a.destroy(); b.destroy() }
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const resetRandomConnection = (): boolean => {
    const list = [...pairs]
    if (list.length === 0) return false
    const pair = list[Math.floor(Math.random() * list.length)]
    const [client, upstream] = pair
    pairs.delete(pair)
    resets++
    client.resetAndDestroy()
    upstream.resetAndDestroy()
    return true
  }
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections () { return pairs.size },
    get resets () { return resets },
    resetRandomConnection,
    resetEvery: (ms) => {
      const timer = setInterval(resetRandomConnection, ms)
      timers.add(timer)
      return () => { clearInterval(timer); timers.delete(timer) }
    }
  }
}
