// API.md § Auth: register, login, me, passwords and names, and the admin account from the environment.
// Sessions (refresh, logout, token rules, access following the database): sessions.test.ts.
import t from 'tap'
import { ADMIN, buildTestApp, json } from '../helper.js'
import { expectError, expectValidationError, type User } from './contract.js'

interface Session { token: string, expiresAt: string, refreshToken: string, refreshExpiresAt: string, user: User }

t.test('auth', async (t) => {
  const app = await buildTestApp(t)
  const register = async (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/auth/register', payload })
  const login = async (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/auth/login', payload })
  const me = async (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/api/auth/me', headers })

  t.test('register answers 201 with a session and its token signs the user in', async (t) => {
    const res = await register({ email: 'ada@example.com', password: 'correct horse', name: 'Ada' })
    t.equal(res.statusCode, 201)
    const body = json<Session>(res)
    t.same(Object.keys(body).sort(), ['expiresAt', 'refreshExpiresAt', 'refreshToken', 'token', 'user'], 'session = { token, expiresAt, refreshToken, refreshExpiresAt, user }')
    t.type(body.token, 'string')
    t.type(body.refreshToken, 'string')
    t.match(body.user, { email: 'ada@example.com', name: 'Ada', role: 'USER' })
    t.match(body.user.id, /^[0-9a-f]{24}$/)
    t.same(Object.keys(body.user).sort(), ['email', 'id', 'name', 'role'], 'user is exactly { id, email, name, role }: no password hash')
    const who = await me({ authorization: `Bearer ${body.token}` })
    t.equal(who.statusCode, 200)
    t.same(json(who), body.user)
  })

  t.test('emails are case-insensitive and stored lower-case', async (t) => {
    const res = await register({ email: 'Grace.Hopper@Example.COM', password: 'password-123', name: 'Grace' })
    t.equal(res.statusCode, 201)
    t.equal(json<Session>(res).user.email, 'grace.hopper@example.com')
    const stored = await app.models.User.findOne({ _id: json<Session>(res).user.id }).lean()
    t.equal(stored?.email, 'grace.hopper@example.com')
    t.notMatch(stored?.passwordHash ?? '', /password-123/, 'the password is not stored as given')
    t.not(stored?.passwordHash, undefined)

    const again = await register({ email: 'grace.hopper@example.com', password: 'password-456', name: 'Other' })
    expectError(t, again, 409, 'EMAIL_TAKEN', 'same email, other case')
    const exact = await register({ email: 'Grace.Hopper@Example.COM', password: 'password-456', name: 'Other' })
    expectError(t, exact, 409, 'EMAIL_TAKEN', 'same email, same case')
    t.equal(await app.models.User.countDocuments({ email: 'grace.hopper@example.com' }), 1)

    const upper = await login({ email: 'GRACE.HOPPER@EXAMPLE.COM', password: 'password-123' })
    t.equal(upper.statusCode, 200, 'login with another case works')
    t.equal(json<Session>(upper).user.email, 'grace.hopper@example.com')
  })

  t.test('register validation names the field', async (t) => {
    const before = await app.models.User.countDocuments()
    expectValidationError(t, await register({ email: 'short@example.com', password: 'short', name: 'S' }), /password/, 'password under 8 chars')
    expectValidationError(t, await register({ email: 'long@example.com', password: 'x'.repeat(129), name: 'L' }), /password/, 'password over 128 chars')
    expectValidationError(t, await register({ email: 'not-an-email', password: 'password-123', name: 'B' }), /email/, 'bad email')
    expectValidationError(t, await register({ email: 'noname@example.com', password: 'password-123' }), /name/, 'missing name')
    expectValidationError(t, await register({ password: 'password-123', name: 'N' }), /email/, 'missing email')
    expectValidationError(t, await register({ email: 'role@example.com', password: 'password-123', name: 'R', role: 'ADMIN' }), /role/, 'a role cannot be chosen')
    t.equal(await app.models.User.countDocuments(), before, 'no account was made')
    // 8 and 128 are the bounds, both allowed.
    t.equal((await register({ email: 'eight@example.com', password: 'k7#q9!zv', name: 'E' })).statusCode, 201)
    t.equal((await register({ email: 'max@example.com', password: 'y'.repeat(128), name: 'M' })).statusCode, 201)
  })

  t.test('login', async (t) => {
    await register({ email: 'linus@example.com', password: 'password-123', name: 'Linus' })
    const ok = await login({ email: 'linus@example.com', password: 'password-123' })
    t.equal(ok.statusCode, 200)
    const session = json<Session>(ok)
    t.type(session.token, 'string')
    t.match(session.user, { email: 'linus@example.com', name: 'Linus', role: 'USER' })
    t.equal((await me({ authorization: `Bearer ${session.token}` })).statusCode, 200)

    const wrong = expectError(t, await login({ email: 'linus@example.com', password: 'password-124' }), 401, 'INVALID_CREDENTIALS', 'wrong password')
    const unknown = expectError(t, await login({ email: 'nobody@example.com', password: 'password-123' }), 401, 'INVALID_CREDENTIALS', 'unknown email')
    t.equal(wrong.message, unknown.message, 'one message for both: which emails exist does not leak')
    expectError(t, await login({ email: 'linus@example.com' }), 400, 'VALIDATION_ERROR', 'missing password')
  })

  t.test('me: 401 UNAUTHORIZED without a valid token', async (t) => {
    expectError(t, await me(), 401, 'UNAUTHORIZED', 'no token')
    expectError(t, await me({ authorization: 'Bearer not-a-jwt' }), 401, 'UNAUTHORIZED', 'junk token')
    expectError(t, await me({ authorization: 'Basic YWRhOnB3' }), 401, 'UNAUTHORIZED', 'basic auth')
    const session = json<Session>(await login(ADMIN))
    const [head, payload, signature] = session.token.split('.')
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'ADMIN', sub: '0123456789abcdef01234567' })).toString('base64url')
    expectError(t, await me({ authorization: `Bearer ${head}.${forgedPayload}.${signature}` }), 401, 'UNAUTHORIZED', 'tampered token')
    // A token of another app (another JWT secret) is worthless here.
    const other = await buildTestApp(t)
    const foreign = json<Session>(await other.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN }))
    expectError(t, await me({ authorization: `Bearer ${foreign.token}` }), 401, 'UNAUTHORIZED', 'token signed with another secret')
  })

  t.test('400 WEAK_PASSWORD: the email itself, or a commonly used password (any letter case)', async (t) => {
    const before = await app.models.User.countDocuments()
    for (const [what, payload] of [
      ['a common password', { email: 'weak1@example.com', password: 'password123', name: 'W' }],
      ['a common password in other case', { email: 'weak2@example.com', password: 'PassWord123', name: 'W' }],
      ['a common password (qwertyuiop)', { email: 'weak3@example.com', password: 'qwertyuiop', name: 'W' }],
      ['the email as password', { email: 'weak4@example.com', password: 'weak4@example.com', name: 'W' }],
      ['the email as password, other case', { email: 'Weak5@Example.com', password: 'WEAK5@example.COM', name: 'W' }]
    ] as const) {
      const body = expectError(t, await register(payload), 400, 'WEAK_PASSWORD', what)
      t.match(body.message, /password/, `${what}: the message says what is wrong`)
      t.notOk('details' in body, `${what}: no details`)
    }
    t.equal(await app.models.User.countDocuments(), before, 'no account was made')
    t.equal((await register({ email: 'strong@example.com', password: 'tram-lantern-61', name: 'S' })).statusCode, 201, 'an uncommon password is fine')
  })

  t.test('names are trimmed; blank, control or bidi-override characters are 400 VALIDATION_ERROR naming the field', async (t) => {
    const res = await register({ email: 'trim@example.com', password: 'password-123', name: '  Ada Lovelace \t' })
    // A tab is a control character: refused, even at the end.
    expectValidationError(t, res, /name/, 'a trailing tab')
    const ok = await register({ email: 'trim@example.com', password: 'password-123', name: '   Ada Lovelace  ' })
    t.equal(ok.statusCode, 201)
    t.equal(json<Session>(ok).user.name, 'Ada Lovelace', 'the answer has the trimmed name')
    t.equal((await app.models.User.findOne({ email: 'trim@example.com' }).lean())?.name, 'Ada Lovelace', 'stored trimmed')
    t.equal(json<Session>(await login({ email: 'trim@example.com', password: 'password-123' })).user.name, 'Ada Lovelace')

    const before = await app.models.User.countDocuments()
    for (const [what, name] of [
      ['blank', '   '],
      ['only a no-break space', '\u00a0'],
      ['a NUL', 'Ada\u0000'],
      ['a newline', 'Ada\nLovelace'],
      ['an escape', '\u001b[31mAda'],
      ['DEL', 'Ada\u007f'],
      ['a C1 control', 'Ada\u0085'],
      ['right-to-left override', 'evil\u202egpj.exe'],
      ['left-to-right embedding', '\u202aAda'],
      ['first strong isolate', 'Ada\u2068x\u2069']
    ] as const) {
      const body = expectValidationError(t, await register({ email: `bad-name-${what.replace(/\W+/g, '-')}@example.com`, password: 'password-123', name }), /body\/name/, what)
      t.same(body.details, { field: 'body/name' }, `${what}: details name the field`)
    }
    t.equal(await app.models.User.countDocuments(), before, 'no account was made')
    const accents = await register({ email: 'accents@example.com', password: 'password-123', name: 'Zoë Ñúñez 李' })
    t.equal(json<Session>(accents).user.name, 'Zoë Ñúñez 李', 'letters of any script are fine')
  })

  t.test('the admin account from ADMIN_EMAIL / ADMIN_PASSWORD exists with role ADMIN', async (t) => {
    const res = await login(ADMIN)
    t.equal(res.statusCode, 200)
    const session = json<Session>(res)
    t.equal(session.user.role, 'ADMIN')
    t.equal(session.user.email, ADMIN.email)
    const who = await me({ authorization: `Bearer ${session.token}` })
    t.equal(json<User>(who).role, 'ADMIN')
    expectError(t, await register({ email: ADMIN.email.toUpperCase(), password: 'password-123', name: 'Imposter' }), 409, 'EMAIL_TAKEN', 'the admin email cannot be registered again')
  })

  t.test('an ADMIN_EMAIL given in upper case is the same lower-case account', async (t) => {
    const other = await buildTestApp(t, { ADMIN_EMAIL: 'Boss@Modex.Test', ADMIN_PASSWORD: 'boss-password' })
    const res = await other.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'boss@modex.test', password: 'boss-password' } })
    t.equal(res.statusCode, 200)
    t.match(json<Session>(res).user, { email: 'boss@modex.test', role: 'ADMIN' })
  })
})
