import { randomBytes } from 'node:crypto'
import { envSchema } from 'env-schema'
import { Type, type Static } from '@sinclair/typebox'

// Every setting of API.md, validated once at start-up. Numbers come from the
// environment as strings; env-schema's ajv coerces them and rejects junk.
const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  // Default by environment (below): loopback in development, every interface in production.
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  MONGODB_URI: Type.Optional(Type.String({ pattern: '^mongodb(\\+srv)?://' })),
  // Without MONGODB_URI: may mongodb-memory-server download a mongod when none is cached? (never by default)
  MONGOD_DOWNLOAD: Type.Boolean({ default: false }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  ACCESS_TOKEN_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
  REFRESH_TOKEN_DAYS: Type.Integer({ minimum: 1, maximum: 365, default: 14 }),
  ADMIN_EMAIL: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 128 })),
  HOLD_SECONDS: Type.Integer({ minimum: 1, default: 120 }),
  SWEEP_SECONDS: Type.Integer({ minimum: 1, default: 30 }),
  OVERDUE_PASS_MS: Type.Integer({ minimum: 0, default: 2000 }),
  MAX_SEATS_PER_BOOKING: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  MAX_HOLD_EXTENSIONS: Type.Integer({ minimum: 0, maximum: 1000, default: 2 }),
  CORS_ORIGIN: Type.Optional(Type.String({ minLength: 1 })),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  RATE_LIMIT: Type.Integer({ minimum: 0, default: 600 }),
  AUTH_RATE_LIMIT: Type.Integer({ minimum: 0, default: 20 }),
  MAX_STREAMS: Type.Integer({ minimum: 0, default: 10_000 }),
  MAX_STREAMS_PER_CLIENT: Type.Integer({ minimum: 0, default: 20 }),
  LIVE_SOURCE: Type.Union([Type.Literal('auto'), Type.Literal('polling')], { default: 'auto' }),
  OVERLOAD_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 })
})
type Env = Static<typeof EnvSchema>

export interface Config {
  env: Env['NODE_ENV']
  port: number
  host: string
  /** undefined: start an embedded database (never in production) */
  mongodbUri: string | undefined
  /** The local database may download a mongod (opt-in: a start never waits on a download otherwise). */
  mongodDownload: boolean
  jwtSecret: string
  /** Lifetime of an access token (a JWT). */
  accessTokenSeconds: number
  /** Lifetime of each refresh token, counted from when it was issued. */
  refreshTokenDays: number
  admin: { email: string, password: string } | undefined
  holdSeconds: number
  sweepSeconds: number
  /** How often each instance expires bookings its jobs left overdue (0: never). */
  overduePassMs: number
  maxSeatsPerBooking: number
  /** How many times one hold may be extended (POST /api/bookings/:id/extend). */
  maxHoldExtensions: number
  /** true = reflect any origin; otherwise the allowed origins */
  corsOrigin: true | string[]
  logLevel: string
  rateLimit: number
  authRateLimit: number
  /** Live seat-map streams this instance holds at most, and one client address at most. */
  maxStreams: number
  maxStreamsPerClient: number
  /** auto: a change stream when the database is a replica set, else polling; polling: always poll. */
  liveSource: 'auto' | 'polling'
  /** Load shedding: 503 OVERLOADED while the event loop lags more than this; 0 = never shed. */
  overloadEventLoopDelayMs: number
}

export class ConfigError extends Error {}

interface SettingError { instancePath: string, keyword: string, params: { allowedValue?: unknown } }

function describe (error: unknown): string {
  // A setting with a fixed set of values (a union of literals) fails every literal; ajv's own
  // message would say only "must be equal to constant", so the values allowed are named instead.
  const errors = (error as { errors?: SettingError[] } | undefined)?.errors ?? []
  const first = errors[0]
  if (first?.keyword === 'const') {
    const allowed = errors.filter((e) => e.keyword === 'const' && e.instancePath === first.instancePath).map((e) => String(e.params.allowedValue))
    return `${first.instancePath.replace(/^\//, '')} must be one of ${allowed.join(', ')}`
  }
  const message = error instanceof Error ? error.message : String(error)
  // ajv says "env/HOLD_SECONDS must be >= 1"; keep it to the setting's name and the rule.
  return message.replace(/^env\/?/, '').split(', env/')[0]
}

/** Reads and validates the settings; throws a ConfigError whose message is one line naming the setting. */
export function loadConfig (source: NodeJS.ProcessEnv = process.env): Config {
  let env: Env
  try {
    // Blank values count as unset, the way shells and compose files tend to pass them.
    const data = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''))
    env = envSchema<Env>({ schema: EnvSchema, data, env: false, dotenv: false })
  } catch (error) {
    throw new ConfigError(`invalid setting: ${describe(error)}`)
  }
  const production = env.NODE_ENV === 'production'
  if (production && env.MONGODB_URI === undefined) throw new ConfigError('invalid setting: MONGODB_URI is required in production')
  if (production && env.JWT_SECRET === undefined) throw new ConfigError('invalid setting: JWT_SECRET is required in production')
  if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError('invalid setting: ADMIN_EMAIL and ADMIN_PASSWORD must be set together')
  }
  if (production && env.CORS_ORIGIN === '*') throw new ConfigError('invalid setting: CORS_ORIGIN must name origins in production, not *')
  const cors = env.CORS_ORIGIN ?? (production ? '' : '*')
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    mongodbUri: env.MONGODB_URI,
    mongodDownload: env.MONGOD_DOWNLOAD,
    jwtSecret: env.JWT_SECRET ?? randomBytes(32).toString('hex'),
    accessTokenSeconds: env.ACCESS_TOKEN_SECONDS,
    refreshTokenDays: env.REFRESH_TOKEN_DAYS,
    admin: env.ADMIN_EMAIL !== undefined && env.ADMIN_PASSWORD !== undefined
      ? { email: env.ADMIN_EMAIL.toLowerCase(), password: env.ADMIN_PASSWORD }
      : undefined,
    holdSeconds: env.HOLD_SECONDS,
    sweepSeconds: env.SWEEP_SECONDS,
    overduePassMs: env.OVERDUE_PASS_MS,
    maxSeatsPerBooking: env.MAX_SEATS_PER_BOOKING,
    maxHoldExtensions: env.MAX_HOLD_EXTENSIONS,
    corsOrigin: cors === '*' ? true : cors.split(',').map((o) => o.trim()).filter((o) => o !== ''),
    logLevel: env.LOG_LEVEL,
    rateLimit: env.RATE_LIMIT,
    authRateLimit: env.AUTH_RATE_LIMIT,
    maxStreams: env.MAX_STREAMS,
    maxStreamsPerClient: env.MAX_STREAMS_PER_CLIENT,
    liveSource: env.LIVE_SOURCE,
    overloadEventLoopDelayMs: env.OVERLOAD_EVENT_LOOP_DELAY_MS
  }
}
