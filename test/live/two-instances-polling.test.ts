// API.md § Live seat maps across instances on the standalone fallback: each instance polls
// (DESIGN.md), so ids resume on the same instance only and the other starts with a snapshot.
import t from 'tap'
import { liveScenario, type Tap } from './scenario.js'

t.test('live seat maps, two instances, polling', async (t) => {
  await liveScenario(t as unknown as Tap, { LIVE_SOURCE: 'polling' }, 'polling')
})
