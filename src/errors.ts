import { STATUS_CODES } from 'node:http'
import type { ErrorBody } from './schemas/common.js'

/**
 * The one error type of the service: carries the HTTP status and the contract's
 * machine-readable code. Services throw it; the error plugin renders it.
 */
export class AppError extends Error {
  constructor (
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>
  ) {
    // An expected refusal (a 4xx: a taken seat, a bad field) is answered, not debugged, and a sale
    // raises thousands of 409s a second: capturing each one's stack is wasted CPU. A 5xx keeps its
    // stack for the log.
    const stackTraceLimit = Error.stackTraceLimit
    if (statusCode < 500) Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = stackTraceLimit
    this.name = 'AppError'
  }

  get error (): string {
    return STATUS_CODES[this.statusCode] ?? 'Error'
  }

  /** The contract's one error body. */
  toBody (): ErrorBody {
    return { statusCode: this.statusCode, code: this.code, error: this.error, message: this.message, ...(this.details !== undefined && { details: this.details }) }
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>): AppError =>
  new AppError(400, code, message, details)
export const unauthorized = (code: string, message: string): AppError => new AppError(401, code, message)
export const forbidden = (message: string): AppError => new AppError(403, 'FORBIDDEN', message)
export const notFound = (code: string, message: string): AppError => new AppError(404, code, message)
export const conflict = (code: string, message: string, details?: Record<string, unknown>): AppError =>
  new AppError(409, code, message, details)

/** The service cannot answer now, through no fault of the request: a 503 saying when to retry. */
export const unavailable = (code: 'DATABASE_UNAVAILABLE' | 'SCHEDULER_STOPPED' | 'SHUTTING_DOWN' | 'OVERLOADED', message: string, retryAfterSeconds: number, details?: Record<string, unknown>): AppError =>
  new AppError(503, code, message, details, { 'retry-after': String(retryAfterSeconds) })
export const databaseUnavailable = (): AppError => unavailable('DATABASE_UNAVAILABLE', 'the database is unreachable; retry shortly', 5)
