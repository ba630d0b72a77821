// Shared by the property-based protocol tests (not a test file itself).

/** Throws (fails the property) with a message when a check does not hold. */
export function check (condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

/** The contract's error body: statusCode equal to the HTTP status, a code, the reason phrase, a message, no stack. */
export function errorBodyProblem (status: number, body: string): string | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return `error body is not JSON: ${body.slice(0, 200)}`
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `error body is not an object: ${body.slice(0, 200)}`
  const b = parsed as Record<string, unknown>
  if (b.statusCode !== status) return `body.statusCode ${String(b.statusCode)} is not the HTTP status ${status}`
  if (typeof b.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(b.code)) return `body.code is not a stable code: ${JSON.stringify(b.code)}`
  if (typeof b.error !== 'string' || typeof b.message !== 'string') return `body.error/message missing: ${body.slice(0, 200)}`
  if (b.details !== undefined && (typeof b.details !== 'object' || b.details === null || Array.isArray(b.details))) return 'body.details is not an object'
  const extra = Object.keys(b).filter((k) => !['statusCode', 'code', 'error', 'message', 'details'].includes(k))
  if (extra.length > 0) return `unexpected fields in the error body: ${extra.join(', ')}`
  if (/\bat .+\.(ts|js):\d+/.test(body)) return 'stack frames in the error body'
  return null
}
