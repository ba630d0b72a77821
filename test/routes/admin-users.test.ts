// API.md § Admin, issue 9: GET /api/admin/users (list and filter) and PATCH /api/admin/users/:id
// (role, disabled), with 404 USER_NOT_FOUND and 409 LAST_ADMIN. How quickly a change reaches a
// token, and that disabling ends sign-ins, are in sessions.test.ts.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { ADMIN, adminAuth, buildTestApp, json, signUp } from '../helper.js'
import { expectError, expectValidationError, MISSING_ID, type Page } from './contract.js'
import type { AdminUser } from '../../src/schemas/auth.js'

t.test('admin users', async (t) => {
  const app = await buildTestApp(t)
  const admin = await adminAuth(app)
  const get = async (url: string, headers = admin) => app.inject({ method: 'GET', url, headers })
  const patch = async (id: string, payload: unknown, headers = admin) => app.inject({ method: 'PATCH', url: `/api/admin/users/${id}`, headers, payload: payload as Record<string, unknown> })
  const adminId = json<{ id: string }>(await get('/api/auth/me')).id
  const ada = await signUp(app, 'ada')
  const bob = await signUp(app, 'bob')
  const carol = await signUp(app, 'carol')
  const page = async (query: string): Promise<Page<AdminUser>> => {
    const res = await get(`/api/admin/users${query}`)
    if (res.statusCode !== 200) throw new Error(`${query}: ${res.statusCode} ${res.body}`)
    return json<Page<AdminUser>>(res)
  }

  t.test('GET /api/admin/users lists { id, email, name, role, disabled, createdAt }, by email', async (t) => {
    const all = await page('')
    t.equal(all.total, 4)
    t.same({ limit: all.limit, offset: all.offset }, { limit: 20, offset: 0 })
    t.same(all.items.map((u) => u.email), [...all.items.map((u) => u.email)].sort(), 'ordered by email')
    for (const user of all.items) {
      t.same(Object.keys(user).sort(), ['createdAt', 'disabled', 'email', 'id', 'name', 'role'], `${user.email}: exactly these fields, no password hash`)
      t.ok(Number.isFinite(Date.parse(user.createdAt)), 'createdAt is a time')
    }
    t.match(all.items.find((u) => u.id === ada.id), { email: ada.email, name: 'ada', role: 'USER', disabled: false })
    t.match(all.items.find((u) => u.id === adminId), { email: ADMIN.email, role: 'ADMIN', disabled: false })

    t.same((await page(`?email=${encodeURIComponent(ada.email.toUpperCase())}`)).items.map((u) => u.id), [ada.id], 'email: case-insensitive')
    t.same((await page('?email=bob-')).items.map((u) => u.id), [bob.id], 'email: a part of it')
    t.equal((await page('?email=.*')).total, 0, 'email is text, not a pattern')
    t.same((await page('?role=ADMIN')).items.map((u) => u.id), [adminId], 'role')
    t.equal((await page('?role=USER')).total, 3)
    t.equal((await page('?disabled=true')).total, 0)
    t.equal((await page('?disabled=false')).total, 4)
    const second = await page('?limit=2&offset=2')
    t.same(second.items.map((u) => u.id), all.items.slice(2, 4).map((u) => u.id), 'limit and offset')
    t.equal(second.total, 4)

    expectValidationError(t, await get('/api/admin/users?role=ROOT'), /role/, 'an unknown role')
    expectValidationError(t, await get('/api/admin/users?disabled=maybe'), /disabled/, 'disabled not a boolean')
    expectValidationError(t, await get('/api/admin/users?limit=101'), /limit/, 'limit over 100')
    expectValidationError(t, await get('/api/admin/users?password=x'), /password/, 'an unknown filter')
    expectError(t, await get('/api/admin/users', { authorization: ada.authorization }), 403, 'FORBIDDEN', 'a USER')
    expectError(t, await get('/api/admin/users', {} as typeof admin), 401, 'UNAUTHORIZED', 'no token')
  })

  t.test('PATCH /api/admin/users/:id changes a role or disables, and answers the user', async (t) => {
    const promoted = await patch(carol.id, { role: 'ADMIN' })
    t.equal(promoted.statusCode, 200)
    t.match(json(promoted), { id: carol.id, email: carol.email, role: 'ADMIN', disabled: false })
    t.same(Object.keys(json(promoted)).sort(), ['createdAt', 'disabled', 'email', 'id', 'name', 'role'])
    t.equal((await get('/api/admin/shows', { authorization: carol.authorization })).statusCode, 200, 'the new admin\'s token opens admin routes at once')

    const disabled = await patch(bob.id, { disabled: true })
    t.match(json(disabled), { id: bob.id, role: 'USER', disabled: true })
    t.same((await page('?disabled=true')).items.map((u) => u.id), [bob.id], 'listed as disabled')
    const both = await patch(bob.id, { disabled: false, role: 'ADMIN' })
    t.match(json(both), { role: 'ADMIN', disabled: false }, 'both at once')
    t.match(json(await patch(bob.id, { role: 'USER' })), { role: 'USER' }, 'demoted again')
    t.match(json(await patch(bob.id, { role: 'USER' })), { role: 'USER' }, 'the same value again is fine')

    const stored = await app.models.User.findById(carol.id).lean()
    t.match(stored, { role: 'ADMIN', disabled: false })

    expectError(t, await patch(MISSING_ID, { role: 'ADMIN' }), 404, 'USER_NOT_FOUND', 'an id of nobody')
    expectValidationError(t, await patch('not-an-id', { role: 'ADMIN' }), /id/, 'a malformed id')
    expectValidationError(t, await patch(ada.id, {}), /body/, 'an empty body')
    expectValidationError(t, await patch(ada.id, { role: 'ROOT' }), /role/, 'an unknown role')
    expectValidationError(t, await patch(ada.id, { disabled: 'true' }), /disabled/, 'a string where a boolean belongs')
    expectValidationError(t, await patch(ada.id, { email: 'x@example.com' }), /email/, 'email cannot be changed here')
    expectValidationError(t, await patch(ada.id, { role: { $ne: 'USER' } }), /role/, 'an operator')
    expectError(t, await patch(ada.id, { role: 'ADMIN' }, { authorization: ada.authorization }), 403, 'FORBIDDEN', 'a USER cannot promote themselves')
    t.match(await app.models.User.findById(ada.id).lean(), { role: 'USER', disabled: false }, 'ada unchanged')
    await patch(carol.id, { role: 'USER' })
  })

  t.test('409 LAST_ADMIN: the last enabled admin cannot be demoted or disabled', async (t) => {
    const snapshot = async () => JSON.stringify(await app.models.User.find({}).sort({ _id: 1 }).lean())
    const before = await snapshot()
    expectError(t, await patch(adminId, { role: 'USER' }), 409, 'LAST_ADMIN', 'demoting the only admin')
    expectError(t, await patch(adminId, { disabled: true }), 409, 'LAST_ADMIN', 'disabling the only admin')
    expectError(t, await patch(adminId, { role: 'USER', disabled: true }), 409, 'LAST_ADMIN', 'both')
    t.equal(await snapshot(), before, 'nothing changed, not even updatedAt')
    t.equal((await get('/api/admin/shows')).statusCode, 200, 'still an admin')
    t.match(json(await patch(adminId, { role: 'ADMIN', disabled: false })), { role: 'ADMIN' }, 'keeping the last admin an admin is fine')

    // A second admin, disabled, does not count: the first is still the last enabled one.
    await patch(carol.id, { role: 'ADMIN', disabled: true })
    expectError(t, await patch(adminId, { role: 'USER' }), 409, 'LAST_ADMIN', 'a disabled admin does not count')
    // Enabled, it does: the first may now step down, and then carol is the last.
    await patch(carol.id, { disabled: false })
    const carolAuth = { authorization: carol.authorization }
    t.match(json(await patch(adminId, { role: 'USER' })), { role: 'USER' }, 'with another enabled admin, demoting works')
    expectError(t, await patch(adminId, { role: 'ADMIN' }), 403, 'FORBIDDEN', 'the demoted admin has no admin rights')
    expectError(t, await patch(carol.id, { disabled: true }, carolAuth), 409, 'LAST_ADMIN', 'now carol is the last')
    t.match(json(await patch(adminId, { role: 'ADMIN' }, carolAuth)), { role: 'ADMIN' }, 'carol restores the first admin')
  })

  t.test('two admins demoting each other at once: at least one admin is left', async (t) => {
    const dave = await signUp(app, 'dave')
    await patch(dave.id, { role: 'ADMIN' })
    // carol is an admin too (above): demote her first, so exactly two remain.
    await patch(carol.id, { role: 'USER' })
    const daveAuth = { authorization: dave.authorization }
    const [a, b] = await Promise.all([patch(dave.id, { role: 'USER' }), patch(adminId, { role: 'USER' }, daveAuth)])
    t.ok([200, 409].includes(a.statusCode) && [200, 409].includes(b.statusCode), `answers ${a.statusCode} and ${b.statusCode}`)
    t.ok(a.statusCode !== 200 || b.statusCode !== 200, 'not both')
    for (const r of [a, b].filter((x) => x.statusCode === 409)) expectError(t, r, 409, 'LAST_ADMIN')
    const admins = await app.models.User.countDocuments({ role: 'ADMIN', disabled: false })
    t.ok(admins >= 1, `${admins} enabled admin(s) left`)
    t.equal(admins, 2 - [a, b].filter((x) => x.statusCode === 200).length, 'each 200 demoted one, each 409 changed nothing')
  })

  t.test('the admin from the environment is an enabled ADMIN again after a restart', async (t) => {
    const other: FastifyInstance = await buildTestApp(t)
    const otherAdmin = await adminAuth(other)
    const user = await signUp(other, 'helper')
    await other.inject({ method: 'PATCH', url: `/api/admin/users/${user.id}`, headers: otherAdmin, payload: { role: 'ADMIN' } })
    const envAdmin = json<{ id: string }>(await other.inject({ method: 'GET', url: '/api/auth/me', headers: otherAdmin })).id
    const res = await other.inject({ method: 'PATCH', url: `/api/admin/users/${envAdmin}`, headers: { authorization: user.authorization }, payload: { disabled: true } })
    t.equal(res.statusCode, 200, 'the environment\'s admin disabled')
    expectError(t, await other.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN }), 403, 'ACCOUNT_DISABLED', 'cannot sign in')
    await other.services.users.ensureAdmin(ADMIN.email, ADMIN.password) // what start-up does
    t.equal((await other.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })).statusCode, 200, 'start-up re-enables it: the operators\' way back in')
  })
})
