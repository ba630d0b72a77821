import type { Connection } from 'mongoose'
import { userModel } from './user.js'
import { movieModel } from './movie.js'
import { showModel } from './show.js'
import { seatModel } from './seat.js'
import { bookingModel } from './booking.js'
import { idempotencyKeyModel } from './idempotency-key.js'
import { refreshTokenModel } from './refresh-token.js'

/** The models bound to one connection (each app, and so each test, has its own). */
export function createModels (db: Connection) {
  return {
    User: userModel(db),
    Movie: movieModel(db),
    Show: showModel(db),
    Seat: seatModel(db),
    Booking: bookingModel(db),
    IdempotencyKey: idempotencyKeyModel(db),
    RefreshToken: refreshTokenModel(db)
  }
}
export type Models = ReturnType<typeof createModels>
