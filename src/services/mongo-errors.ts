/** E11000: a unique index refused the write (MongoDB's documented duplicate-key code). */
export function isDuplicateKey (error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000
}

/**
 * What a driver error says about the database: `unreachable` when no server could be selected
 * (or the client is closed), `network` when one connection failed (reset, timed out, its pool
 * cleared). Both are a 503 the client may retry; only `unreachable` says the database is away,
 * so only it switches the instance to answering 503 at once (a reset socket is not an outage).
 * Class names, not instanceof: mongoose wraps server selection in its own error class.
 */
export function databaseFault (error: unknown): 'unreachable' | 'network' | undefined {
  for (let e = error as { name?: unknown, message?: unknown, cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 4; e = e.cause as typeof e, depth++) {
    const name = typeof e.name === 'string' ? e.name : ''
    const message = typeof e.message === 'string' ? e.message : ''
    if (/^Mongo(ose)?(ServerSelection|NotConnected|TopologyClosed|ClientClosed|PoolClosed)Error$/.test(name) ||
      /buffering timed out|Client must be connected|Topology is closed/i.test(message)) return 'unreachable'
    if (/^(Mongo(Network|NetworkTimeout|PoolCleared|WaitQueueTimeout|ServerClosed)Error|PoolClearedOnNetworkError)$/.test(name) ||
      /^connection .* closed/i.test(message)) return 'network'
    // The driver lets a socket's own write error through unwrapped (`write ECONNRESET` from
    // Connection.writeCommand); the database is the only peer this service writes to.
    const code = (e as { code?: unknown, syscall?: unknown }).code
    if (typeof code === 'string' && /^(ECONNRESET|EPIPE|ECONNABORTED|ETIMEDOUT)$/.test(code) && typeof (e as { syscall?: unknown }).syscall === 'string') return 'network'
  }
  return undefined
}
