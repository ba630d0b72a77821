/**
 * Named points in the booking protocol where a test may inject a fault (the crash tests kill
 * the process there to prove the sweep recovers). Nothing is installed in production, so
 * `reachedFaultPoint` does nothing; a test process installs its hook before the app starts.
 */
export type FaultPoint = 'after-claims' | 'after-expiry-scheduled' | 'after-confirm' | 'after-extend-seats' | 'after-extend-scheduled' | 'after-bulk-expire'

let hook: ((point: FaultPoint) => void) | undefined

/** Test-only: `fn` runs each time the protocol passes a fault point (undefined removes it). */
export function installFaultHook (fn: ((point: FaultPoint) => void) | undefined): void {
  hook = fn
}

export function reachedFaultPoint (point: FaultPoint): void {
  hook?.(point)
}
