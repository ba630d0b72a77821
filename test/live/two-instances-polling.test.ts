// API.md § Live seat maps across instances on a standalone database (`--standalone`: no change
// streams), where each instance falls back to polling by itself (DESIGN.md); ids then resume on
// the same instance only and the other starts with a snapshot.
import t from 'tap'
import { liveScenario, type Tap } from './scenario.js'

t.test('live seat maps, two instances, a standalone database: polling', async (t) => {
  await liveScenario(t as unknown as Tap, ['--standalone'], {}, 'polling')
})
