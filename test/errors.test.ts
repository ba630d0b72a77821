import t from 'tap'
import { AppError, conflict, databaseUnavailable } from '../src/errors.js'

t.test('an expected refusal carries no stack trace; a server error keeps its own', async (t) => {
  const refusal = conflict('SEAT_UNAVAILABLE', 'seat A1 is taken')
  t.equal(refusal.stack, 'AppError: seat A1 is taken', 'a 4xx: the message line only, no frames')
  t.same(refusal.toBody(), { statusCode: 409, code: 'SEAT_UNAVAILABLE', error: 'Conflict', message: 'seat A1 is taken' })

  for (const error of [new AppError(500, 'INTERNAL_ERROR', 'internal error'), databaseUnavailable()]) {
    t.match(error.stack, /\n\s+at /, `a ${error.statusCode} keeps the frames where it was raised`)
  }
  // The limit is restored after each refusal: errors raised elsewhere still have stacks.
  const other = new Error('unrelated')
  t.match(other.stack, /\n\s+at /)
})
