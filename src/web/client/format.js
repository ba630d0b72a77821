// How money, times and seats read on screen and to a screen reader.

/** 1800 → "18.00" (the API has no currency; prices are shown as the show sets them). */
export const money = (/** @type {number} */ cents) => (cents / 100).toFixed(2)

const dateTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
export const when = (/** @type {string} */ iso) => dateTime.format(new Date(iso))

/** 75 s → "1:15" */
export function clock (/** @type {number} */ ms) {
  const s = Math.max(0, Math.ceil(ms / 1000))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

export const TYPE_NAMES = /** @type {const} */ ({ MOVIE: 'Movie', BUS: 'Bus trip', DOCTOR: 'Appointment', EVENT: 'Event' })

/** @param {string} status AVAILABLE → "available" */
export const lower = (status) => status.toLowerCase()

/**
 * "Row F seat 7, PREMIUM, 18.00, available" — or "Seat 10:15, …" for label-seated shows.
 * @param {import('./api/types').Seat} seat
 * @param {string} category
 * @param {number} priceCents
 * @param {string} state
 */
export function seatName (seat, category, priceCents, state) {
  const where = seat.row === null ? `Seat ${seat.label}` : `Row ${seat.row} seat ${seat.number}`
  return `${where}, ${category}, ${money(priceCents)}, ${state}`
}
