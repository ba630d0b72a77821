import { html } from 'htm/preact'
import { lower, money, seatName } from '../format.js'

/** @typedef {import('../api/types').Seat} Seat */
/** @typedef {import('../api/types').Show} Show */

/** Colour slot of each category: STANDARD is 0, the show's categories 1… in their order. */
export function categorySlots (/** @type {Show} */ show) {
  /** @type {Map<string, number>} */
  const slots = new Map([['STANDARD', 0]])
  // The service may list STANDARD among the categories; it keeps the plain colour.
  const named = (show.categories ?? []).filter((c) => c.name !== 'STANDARD')
  for (const [i, category] of named.entries()) slots.set(category.name, (i % 6) + 1)
  return slots
}

export const seatCategory = (/** @type {Seat} */ seat) => seat.category ?? 'STANDARD'
export const seatPrice = (/** @type {Seat} */ seat, /** @type {Show} */ show) => seat.priceCents ?? show.priceCents

/**
 * Rows of seats in seat order; label-seated shows are one group.
 * @param {Seat[]} seats
 * @returns {Array<{ row: string | null, seats: Seat[] }>}
 */
function rowsOf (seats) {
  /** @type {Array<{ row: string | null, seats: Seat[] }>} */
  const rows = []
  for (const seat of seats) {
    const last = rows.at(-1)
    if (last !== undefined && last.row === seat.row) last.seats.push(seat)
    else rows.push({ row: seat.row, seats: [seat] })
  }
  return rows
}

/**
 * Arrow keys move between seats (left/right along the row, up/down to the nearest seat of the
 * next row), so a keyboard user need not tab through a whole cinema.
 * @param {KeyboardEvent} event
 */
function moveFocus (event) {
  const from = /** @type {HTMLElement} */ (event.target)
  if (from.dataset.r === undefined) return
  const buttons = /** @type {HTMLButtonElement[]} */ ([...(/** @type {HTMLElement} */ (event.currentTarget)).querySelectorAll('button[data-r]:not([disabled])')])
  const index = buttons.indexOf(/** @type {HTMLButtonElement} */ (from))
  if (index < 0) return
  const r = Number(from.dataset.r)
  const c = Number(from.dataset.c)
  /** @type {HTMLButtonElement | undefined} */
  let to
  if (event.key === 'ArrowRight') to = buttons[index + 1]
  else if (event.key === 'ArrowLeft') to = buttons[index - 1]
  else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    const step = event.key === 'ArrowDown' ? 1 : -1
    for (let row = r + step; to === undefined && row >= 0 && buttons.some((b) => Number(b.dataset.r) * step >= row * step); row += step) {
      const candidates = buttons.filter((b) => Number(b.dataset.r) === row)
      to = candidates.sort((a, b) => Math.abs(Number(a.dataset.c) - c) - Math.abs(Number(b.dataset.c) - c))[0]
    }
  } else return
  event.preventDefault()
  to?.focus()
}

/**
 * @param {{
 *   show: Show,
 *   seats: Seat[],
 *   selected: Set<string>,
 *   mine: Set<string>,
 *   toggle: (seat: Seat) => void,
 *   locked: boolean
 * }} props
 */
export function SeatMap ({ show, seats, selected, mine, toggle, locked }) {
  const slots = categorySlots(show)
  const rows = rowsOf(seats)
  return html`
    <div class="seat-map" onKeyDown=${moveFocus}>
      <div class="screen" aria-hidden="true">${show.type === 'MOVIE' ? 'Screen' : show.type === 'EVENT' ? 'Stage' : 'Front'}</div>
      <div class="rows">
        ${rows.map(({ row, seats: rowSeats }, r) => html`
          <div class=${row === null ? 'row labels' : 'row'} role="group" aria-label=${row === null ? 'Seats' : `Row ${row}`} key=${row ?? '-'}>
            ${row !== null && html`<span class="row-name" aria-hidden="true">${row}</span>`}
            ${rowSeats.map((seat, c) => {
              const isMine = mine.has(seat.id)
              const isSelected = selected.has(seat.id)
              const state = isMine ? 'held by you' : isSelected ? 'selected' : lower(seat.status)
              const category = seatCategory(seat)
              return html`
                <button type="button" key=${seat.id} data-r=${r} data-c=${c}
                  class=${`seat ${lower(seat.status)} cat-${slots.get(category) ?? 0}${isSelected ? ' selected' : ''}${isMine ? ' mine' : ''}`}
                  aria-label=${seatName(seat, category, seatPrice(seat, show), state)}
                  aria-pressed=${seat.status === 'AVAILABLE' ? isSelected : undefined}
                  disabled=${seat.status !== 'AVAILABLE' || locked}
                  title=${`${seat.label} · ${category} · ${money(seatPrice(seat, show))}`}
                  onClick=${() => toggle(seat)}>${row === null ? seat.label : seat.number}</button>`
            })}
          </div>`)}
      </div>
    </div>`
}

/** Seats no category names are STANDARD at the show's price; the legend lists them unless none are left over. */
function hasStandardSeats (/** @type {Show} */ show) {
  const categories = show.categories ?? []
  if (categories.some((c) => c.name === 'STANDARD')) return false
  if (categories.some((c) => c.totalSeats === undefined)) return true
  return categories.reduce((n, c) => n + (c.totalSeats ?? 0), 0) < show.totalSeats
}

/**
 * @param {{ show: Show, counts: import('../api/types').SeatCounts | null }} props
 */
export function Legend ({ show, counts }) {
  const slots = categorySlots(show)
  const categories = show.categories ?? []
  return html`
    <div class="legend">
      <ul class="statuses" aria-label="Seat status">
        <li><span class="swatch available" aria-hidden="true"></span>Available${counts !== null ? ` (${counts.AVAILABLE})` : ''}</li>
        <li><span class="swatch selected" aria-hidden="true"></span>Your choice</li>
        <li><span class="swatch held" aria-hidden="true"></span>Held${counts !== null ? ` (${counts.HELD})` : ''}</li>
        <li><span class="swatch booked" aria-hidden="true"></span>Booked${counts !== null ? ` (${counts.BOOKED})` : ''}</li>
      </ul>
      <ul class="categories" aria-label="Prices">
        ${hasStandardSeats(show) && html`<li><span class="swatch available cat-0" aria-hidden="true"></span>STANDARD ${money(show.priceCents)}</li>`}
        ${categories.map((c) => html`<li key=${c.name}><span class=${`swatch available cat-${slots.get(c.name) ?? 0}`} aria-hidden="true"></span>${c.name} ${money(c.priceCents)}${c.availableSeats !== undefined ? ` (${c.availableSeats} free)` : ''}</li>`)}
      </ul>
    </div>`
}
