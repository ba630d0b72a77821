// tap `before`: starts ONE database for the whole run — MONGODB_URI if set, else a real mongod
// through mongodb-memory-server when one is cached or configured (never a download unless
// MONGOD_DOWNLOAD=true), else the embedded server — and says which, and why.
import { spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { childEnv } from './child-env.js'
import { LOG_FILE, STATE_FILE, type DatabaseState } from './state.js'

mkdirSync(dirname(STATE_FILE), { recursive: true })
let state: DatabaseState
if (process.env.MONGODB_URI !== undefined && process.env.MONGODB_URI !== '') {
  state = { uri: process.env.MONGODB_URI, kind: 'MONGODB_URI' }
} else {
  const out = openSync(LOG_FILE, 'w')
  const script = fileURLToPath(new URL('./database-process.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script], { detached: true, env: childEnv(), stdio: ['ignore', out, out] })
  child.unref()
  const deadline = Date.now() + 60_000
  let match: RegExpMatchArray | null = null
  while (match === null) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`the test database did not start:\n${readFileSync(LOG_FILE, 'utf8')}`)
    }
    await sleep(100)
    match = readFileSync(LOG_FILE, 'utf8').match(/uri=(\S+) kind=(\S+)/)
  }
  state = { uri: match[1], kind: match[2], pid: child.pid }
  const reason = /"reason":"((?:[^"\\]|\\.)*)"/.exec(readFileSync(LOG_FILE, 'utf8'))?.[1]
  if (reason !== undefined) state.reason = reason
}
writeFileSync(STATE_FILE, JSON.stringify(state))
console.log(`# test database: ${state.kind} ${state.uri}${state.reason === undefined ? '' : ` (${state.reason})`}`)
