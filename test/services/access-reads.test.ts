// Issue 13: who a token's account is, read for many accounts at once. In a cold burst every
// buyer's first request needs its account read, and the requests arrive over many turns of the
// event loop: while one read is at the database, the accounts asked for meanwhile wait and go out
// together as the next read, and a read that stalls (an outage) holds the next one back for at
// most ACCESS_BATCH_WAIT_MS.
// The user service here is built over the test app's database with its User model's `find`
// wrapped, so a read can be held back and every read's ids are seen.
import t from 'tap'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Types } from 'mongoose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, signUp } from '../helper.js'
import { ACCESS_BATCH_WAIT_MS, createUserService } from '../../src/services/user-service.js'
import type { Models } from '../../src/models/index.js'

/** The app's user service, its account reads recorded (ids per read) and the first `stall` of them held until released. */
function serviceOver (app: FastifyInstance, stall: number) {
  const reads: string[][] = []
  const released: Array<() => void> = []
  const User = app.models.User
  const find = (filter: { _id: { $in: Types.ObjectId[] } }, projection: Record<string, number>) => ({
    lean: async () => {
      reads.push(filter._id.$in.map((id) => id.toHexString()))
      if (reads.length <= stall) await new Promise<void>((resolve) => { released.push(resolve) })
      return await User.find(filter, projection).lean()
    }
  })
  const users = createUserService({ models: { ...app.models, User: { find } as unknown as Models['User'] }, log: app.log, endUserSessions: async () => {} })
  return { users, reads, released }
}

t.test('accounts asked for while a read is out go out together as the next read, each answered right', async (t) => {
  const app = await buildTestApp(t)
  const ids = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await signUp(app, `burst-${i}`)).id))
  const unknown = new Types.ObjectId().toHexString()
  const { users, reads, released } = serviceOver(app, 1)

  const first = users.findAccess(ids[0])
  while (reads.length === 0) await nextTurn()
  // Each in a turn of its own, as a burst's requests arrive, the first read still out.
  const started = performance.now()
  const rest: Array<Promise<unknown>> = []
  for (const id of [...ids.slice(1), unknown]) {
    rest.push(users.findAccess(id))
    await nextTurn()
  }
  const elapsed = performance.now() - started
  released[0]()
  const answers = await Promise.all([first, ...rest])

  t.same(answers.slice(0, 30), ids.map(() => ({ role: 'USER', disabled: false })), 'every account: its role and state')
  t.equal(answers[30], null, 'an account that does not exist: null')
  t.same(reads[0], [ids[0]], 'the first read: the one account asked for in its turn')
  t.same(reads.slice(1).flat().sort(), [...ids.slice(1), unknown].sort(), 'the others: each read once')
  // One read for the 30 asked for meanwhile, one more for each ACCESS_BATCH_WAIT_MS the asking took
  // (a slow machine); one read per turn would be 30.
  // (A timer may fire a millisecond early: libuv counts whole milliseconds.)
  t.ok(reads.length - 1 <= 1 + Math.floor(elapsed / (ACCESS_BATCH_WAIT_MS - 2)), `${reads.length - 1} reads for 30 accounts asked for over ${Math.round(elapsed)} ms`)
})

t.test('a read that stalls holds the next accounts back ACCESS_BATCH_WAIT_MS at most, not until it comes back', async (t) => {
  const app = await buildTestApp(t)
  const [a, b] = await Promise.all([signUp(app, 'stalled'), signUp(app, 'next')])
  const { users, reads, released } = serviceOver(app, 1)

  const stalled = users.findAccess(a.id)
  while (reads.length === 0) await nextTurn()
  t.same(await users.findAccess(b.id), { role: 'USER', disabled: false }, 'answered while the read before it is still out')
  t.equal(reads.length, 2, 'in a read of its own')
  released[0]()
  t.same(await stalled, { role: 'USER', disabled: false }, 'the stalled read answers when it comes back')
})
