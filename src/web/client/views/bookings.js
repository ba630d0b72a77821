import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { api, messageOf, unwrap } from '../api/client.js'
import { announce } from '../announce.js'
import { money, when } from '../format.js'
import { user } from '../session.js'

/** @typedef {import('../api/types').Booking} Booking */

const STATUS_TEXT = { PENDING: 'Held, not paid', CONFIRMED: 'Confirmed', FAILED: 'Hold lapsed', CANCELLED: 'Cancelled' }

/**
 * A booking's show, from its `show` summary, or read once per show when the server sends none.
 * @param {Booking[]} bookings
 */
async function withShows (bookings) {
  const missing = [...new Set(bookings.filter((b) => b.show === undefined).map((b) => b.showId))]
  const shows = new Map(await Promise.all(missing.map(async (id) => {
    try {
      const show = await unwrap(api.GET('/api/shows/{id}', { params: { path: { id } } }))
      return /** @type {const} */ ([id, { name: show.name, type: show.type, venue: show.venue, startTime: show.startTime }])
    } catch {
      return /** @type {const} */ ([id, undefined])
    }
  })))
  return bookings.map((b) => b.show !== undefined ? b : { ...b, show: shows.get(b.showId) })
}

/**
 * @param {{ booking: Booking, cancelled: (b: Booking) => void }} props
 */
function BookingRow ({ booking, cancelled }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(/** @type {unknown} */ (null))
  const name = booking.show?.name ?? 'Show'
  const cancel = async () => {
    setBusy(true)
    setError(null)
    try {
      const done = /** @type {Booking} */ (await unwrap(api.POST('/api/bookings/{id}/cancel', { params: { path: { id: booking.id } } })))
      cancelled({ ...done, show: booking.show })
      announce(`Booking for ${name} cancelled.`)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  const seats = booking.seats.map((s) => s.label).join(', ')
  const open = booking.status === 'PENDING' || booking.status === 'CONFIRMED'
  return html`
    <li class="card booking">
      <h2><a href=${`#/shows/${booking.showId}`}>${name}</a></h2>
      <p class="meta">${booking.show !== undefined && html`<time datetime=${booking.show.startTime}>${when(booking.show.startTime)}</time>`}
        ${booking.show?.venue !== undefined && booking.show.venue !== null ? ` · ${booking.show.venue}` : ''}</p>
      <p>Seats ${seats} · ${money(booking.totalPriceCents)}</p>
      <p><span class=${`status ${booking.status.toLowerCase()}`}>${STATUS_TEXT[booking.status]}</span></p>
      ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
      ${open && html`
        <div class="inline">
          ${booking.status === 'PENDING' && html`<a class="button small" href=${`#/shows/${booking.showId}`}>Continue to payment</a>`}
          <button type="button" class="small secondary danger" disabled=${busy} onClick=${cancel}
            aria-label=${`Cancel booking for ${name}, seats ${seats}`}>Cancel booking</button>
        </div>`}
    </li>`
}

export function BookingsPage () {
  const [bookings, setBookings] = useState(/** @type {Booking[] | null} */ (null))
  const [error, setError] = useState(/** @type {unknown} */ (null))
  const signedIn = user.value !== null

  useEffect(() => {
    if (!signedIn) return
    let current = true
    unwrap(api.GET('/api/bookings', { params: { query: { limit: 100, offset: 0 } } }))
      .then((list) => withShows(/** @type {Booking[]} */ (list.items)))
      .then((list) => { if (current) setBookings(list) })
      .catch((e) => { if (current) setError(e) })
    return () => { current = false }
  }, [signedIn])

  if (!signedIn) return html`<h1 tabindex="-1">My bookings</h1><p><a href="#/signin">Sign in</a> to see your bookings.</p>`
  /** @param {Booking} changed */
  const replace = (changed) => setBookings((all) => all?.map((b) => b.id === changed.id ? changed : b) ?? null)
  return html`
    <h1 tabindex="-1">My bookings</h1>
    ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
    ${bookings === null && error === null && html`<p>Loading your bookings…</p>`}
    ${bookings !== null && bookings.length === 0 && html`<p>No bookings yet. <a href="#/">Find a show</a>.</p>`}
    ${bookings !== null && bookings.length > 0 && html`
      <ul class="cards" aria-label="Bookings">
        ${bookings.map((b) => html`<${BookingRow} key=${b.id} booking=${b} cancelled=${replace} />`)}
      </ul>`}`
}
