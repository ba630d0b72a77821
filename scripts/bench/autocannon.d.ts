// The part of autocannon's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface RequestContext { [key: string]: unknown }
  export interface RawRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string
  }
  export interface RequestSpec extends RawRequest {
    setupRequest?: (request: RawRequest, context: RequestContext) => RawRequest | null | undefined
    onResponse?: (status: number, body: string, context: RequestContext, headers: Record<string, string>) => void
  }
  export interface Options {
    url: string
    connections?: number
    duration?: number
    amount?: number
    timeout?: number
    method?: string
    headers?: Record<string, string>
    body?: string
    requests?: RequestSpec[]
    initialContext?: RequestContext
    expectBody?: string
  }
  export interface Percentiles { average: number, mean: number, p50: number, p90: number, p97_5: number, p99: number, max: number, total: number }
  export interface Result {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    '4xx': number
    '5xx': number
    statusCodeStats: Record<string, { count: number }>
    latency: Percentiles
    requests: Percentiles & { sent: number }
    throughput: Percentiles
  }
  /** One connection of the run: its request iterator carries the per-connection context. */
  export interface Client { requestIterator?: { context?: RequestContext } }
  export interface Instance extends EventEmitter {
    stop: () => void
  }
  function autocannon (opts: Options, callback: (error: Error | null, result: Result) => void): Instance
  export default autocannon
}
