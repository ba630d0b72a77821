// README § Configuration: a bad setting stops start-up with one line naming the setting and
// what it must be, the values allowed included for a setting with a fixed set of them.
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

function refusal (env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  return 'accepted'
}

t.test('each refusal names the setting and its rule', async (t) => {
  t.equal(refusal({ HOLD_SECONDS: '0' }), 'invalid setting: HOLD_SECONDS must be >= 1')
  t.equal(refusal({ PORT: 'eighty' }), 'invalid setting: PORT must be integer')
  t.equal(refusal({ LIVE_SOURCE: 'bogus' }), 'invalid setting: LIVE_SOURCE must be one of auto, polling')
  t.equal(refusal({ LOG_LEVEL: 'loud' }), 'invalid setting: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent')
  t.equal(refusal({ NODE_ENV: 'prod' }), 'invalid setting: NODE_ENV must be one of development, production, test')
  t.equal(refusal({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }), 'invalid setting: MONGODB_URI is required in production')
})

t.test('the values of a fixed set are accepted', async (t) => {
  t.match(loadConfig({ LIVE_SOURCE: 'polling', LOG_LEVEL: 'warn' }), { liveSource: 'polling', logLevel: 'warn' })
})
