// The instance-wide fast-503 mode is for a database that cannot be reached, not for sockets
// that get reset: with a proxy resetting every connection between the app and its database
// again and again (pooled, monitoring and the ping's own), the checks a failed request starts
// never conclude that the database is away, because it keeps answering.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { databaseUri } from '../helper.js'
import { startFaultProxy } from './fault-proxy.js'

const ROUNDS = 30
const RESET_EVERY_MS = 50
/** Longer than one check can take (two pings of 2.5 s and the pause between them). */
const SETTLE_MS = 6000

t.test('reset connections do not switch the instance to fast 503s', async (t) => {
  const proxy = await startFaultProxy(t, { host: '127.0.0.1', port: Number(new URL(databaseUri()).port) })
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', RATE_LIMIT: '0', AUTH_RATE_LIMIT: '0', OVERLOAD_EVENT_LOOP_DELAY_MS: '0' })
  // directConnection: on a replica set the driver would otherwise follow the member's own address and go around the proxy.
  const app = buildApp({ config, mongoUri: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, dbName: `modex_test_${randomBytes(6).toString('hex')}` }, false)
  t.teardown(async () => { await app.close() })
  await app.ready()

  let wentDown = false
  const watch = setInterval(() => { wentDown ||= app.databaseDown() }, 10)
  t.teardown(() => { clearInterval(watch) })
  let resets = 0
  for (let round = 0; round < ROUNDS; round++) {
    // Every live connection, so the ping the check sends next finds its pooled socket reset.
    while (proxy.resetRandomConnection()) resets++
    app.checkDatabase()
    await sleep(RESET_EVERY_MS)
  }
  await sleep(SETTLE_MS) // what is tested is that nothing happens: long enough for any started check to conclude
  // Most rounds find live connections (right after a round of resets there may be none yet).
  t.ok(resets >= ROUNDS / 2, `connections were reset (${resets})`)
  t.notOk(wentDown, 'the instance never answered fast 503s: the database kept answering')
  const res = await app.inject({ url: '/api/shows' })
  t.equal(res.statusCode, 200, 'requests go on')
})
