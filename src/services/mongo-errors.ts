/** E11000: a unique index refused the write (MongoDB's documented duplicate-key code). */
export function isDuplicateKey (error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000
}
