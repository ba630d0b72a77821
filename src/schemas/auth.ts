import { Type, type Static } from '@sinclair/typebox'
import { DateTime, ListOf, ObjectIdString, Pagination } from './common.js'

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254, examples: ['ada@example.com'] })
export const Role = Type.Union([Type.Literal('USER'), Type.Literal('ADMIN')])

export const User = Type.Object({
  id: ObjectIdString,
  email: Email,
  name: Type.String(),
  role: Role
}, { $id: 'User', title: 'User' })
export type User = Static<typeof User>

export const RegisterBody = Type.Object({
  email: Email,
  password: Type.String({
    minLength: 8,
    maxLength: 128,
    description: 'Not the email, and not among commonly used passwords (400 WEAK_PASSWORD).'
  }),
  name: Type.String({
    minLength: 1,
    maxLength: 100,
    description: 'Trimmed; may not be blank or hold control or bidi-override characters (400 VALIDATION_ERROR).'
  })
}, { additionalProperties: false })
export type RegisterBody = Static<typeof RegisterBody>

export const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 128 })
}, { additionalProperties: false })
export type LoginBody = Static<typeof LoginBody>

// Refresh tokens are 43 characters; the bound only keeps junk from being hashed at length.
const RefreshToken = Type.String({ minLength: 1, maxLength: 256, description: 'the opaque refresh token of a session' })

export const RefreshBody = Type.Object({ refreshToken: RefreshToken }, { additionalProperties: false })
export type RefreshBody = Static<typeof RefreshBody>

export const Session = Type.Object({
  token: Type.String({ description: 'access token (JWT, HS256): send as `Authorization: Bearer <token>`' }),
  expiresAt: Type.String({ format: 'date-time', description: 'when `token` stops working (ACCESS_TOKEN_SECONDS after issue)' }),
  refreshToken: Type.String({ description: 'opaque, single use: POST it to /api/auth/refresh for a new session before refreshExpiresAt' }),
  refreshExpiresAt: Type.String({ format: 'date-time', description: 'when `refreshToken` stops working (REFRESH_TOKEN_DAYS after issue)' }),
  user: Type.Ref(User)
}, { $id: 'Session', title: 'Session' })
export interface Session { token: string, expiresAt: string, refreshToken: string, refreshExpiresAt: string, user: User }

export const AdminUser = Type.Object({
  id: ObjectIdString,
  email: Email,
  name: Type.String(),
  role: Role,
  disabled: Type.Boolean(),
  createdAt: DateTime
}, { $id: 'AdminUser', title: 'AdminUser' })
export type AdminUser = Static<typeof AdminUser>
export const AdminUserList = ListOf(Type.Ref(AdminUser), 'AdminUser')

export const AdminUserQuery = Type.Object({
  email: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'part of the email, case-insensitive' })),
  role: Type.Optional(Role),
  disabled: Type.Optional(Type.Boolean()),
  ...Pagination
}, { additionalProperties: false })
export type AdminUserQuery = Static<typeof AdminUserQuery>

export const UpdateUserBody = Type.Object({
  role: Type.Optional(Role),
  disabled: Type.Optional(Type.Boolean({ description: 'true ends the account\'s sign-ins and refuses its tokens within 5 s' }))
}, { additionalProperties: false, minProperties: 1 })
export type UpdateUserBody = Static<typeof UpdateUserBody>
