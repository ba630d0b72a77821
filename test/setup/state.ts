import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Where the before-script records the run's database for the test files and the after-script.
// Keyed by the tap runner's pid (the parent of all three), so overlapping runs keep their own.
export const STATE_FILE = fileURLToPath(new URL(`../../.tap/test-database-${process.ppid}.json`, import.meta.url))
export const LOG_FILE = fileURLToPath(new URL(`../../.tap/test-database-${process.ppid}.log`, import.meta.url))

export interface DatabaseState { uri: string, kind: string, pid?: number, reason?: string }

export function readDatabaseState (): DatabaseState | undefined {
  return existsSync(STATE_FILE) ? JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DatabaseState : undefined
}
