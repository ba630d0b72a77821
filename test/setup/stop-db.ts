// tap `after`: stops the database the before-script started.
import { rmSync } from 'node:fs'
import { LOG_FILE, readDatabaseState, STATE_FILE } from './state.js'

const state = readDatabaseState()
if (state?.pid !== undefined) {
  try { process.kill(state.pid, 'SIGTERM') } catch { /* already gone */ }
}
rmSync(STATE_FILE, { force: true })
rmSync(LOG_FILE, { force: true })
