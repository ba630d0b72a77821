// API.md § Live seat maps across instances, with change streams (the embedded database as a replica set).
// Slow: real processes. The same scenario on the polling fallback: two-instances-polling.test.ts.
import t from 'tap'
import { liveScenario, type Tap } from './scenario.js'

t.test('live seat maps, two instances, change streams', async (t) => {
  await liveScenario(t as unknown as Tap, [], {}, 'change-stream')
})
