import { Type, type Static } from '@sinclair/typebox'
import { ObjectIdString } from './common.js'

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254, examples: ['ada@example.com'] })

export const User = Type.Object({
  id: ObjectIdString,
  email: Email,
  name: Type.String(),
  role: Type.Union([Type.Literal('USER'), Type.Literal('ADMIN')])
}, { $id: 'User', title: 'User' })
export type User = Static<typeof User>

export const RegisterBody = Type.Object({
  email: Email,
  password: Type.String({ minLength: 8, maxLength: 128 }),
  name: Type.String({ minLength: 1, maxLength: 100 })
}, { additionalProperties: false })
export type RegisterBody = Static<typeof RegisterBody>

export const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 128 })
}, { additionalProperties: false })
export type LoginBody = Static<typeof LoginBody>

export const Session = Type.Object({ token: Type.String(), user: Type.Ref(User) }, { $id: 'Session', title: 'Session' })
export interface Session { token: string, user: User }
