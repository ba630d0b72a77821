import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { ApiError, api, messageOf, serverNow, unwrap } from '../api/client.js'
import { announce } from '../announce.js'
import { clock, money } from '../format.js'

/** @typedef {import('../api/types').Booking} Booking */
/** @typedef {{ kind: 'done' | 'lapsed' | 'released', text: string }} Outcome */

const LAPSED = 'Your hold lapsed before it was confirmed, so the seats were released. You can choose seats again.'
/** Spoken once each as the hold runs down (ms left). */
const WARNINGS = [60_000, 15_000]

/** Waits until the service has settled a lapsed hold (it does so within seconds of expiresAt). */
async function settled (/** @type {string} */ id) {
  for (let attempt = 0; attempt < 30; attempt++) {
    try {
      const booking = await unwrap(api.GET('/api/bookings/{id}', { params: { path: { id } } }))
      if (booking.status !== 'PENDING') return /** @type {Booking} */ (booking)
    } catch {
      // Asked again below; the countdown already says the hold is over.
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  return null
}

/**
 * The held seats: a countdown to expiresAt, extend, pay (simulated) and confirm, or release.
 * Extending is offered where the service has it (its bookings count `extensions`).
 * @param {{ booking: Booking, onChange: (b: Booking) => void, onFinished: (o: Outcome) => void }} props
 */
export function Checkout ({ booking, onChange, onFinished }) {
  const expiresAt = Date.parse(booking.expiresAt)
  const [left, setLeft] = useState(expiresAt - serverNow())
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(/** @type {unknown} */ (null))
  const lapsed = left <= 0

  useEffect(() => {
    const spoken = new Set(WARNINGS.filter((w) => expiresAt - serverNow() <= w))
    const timer = setInterval(() => {
      const now = expiresAt - serverNow()
      setLeft(now)
      for (const warning of WARNINGS) {
        if (now <= warning && now > 0 && !spoken.has(warning)) {
          spoken.add(warning)
          announce(`Your hold ends in ${Math.round(warning / 1000)} seconds.`)
        }
      }
    }, 250)
    return () => clearInterval(timer)
  }, [expiresAt])

  useEffect(() => {
    if (!lapsed) return
    let current = true
    void settled(booking.id).then((final) => {
      if (!current) return
      if (final === null || final.status === 'FAILED') onFinished({ kind: 'lapsed', text: LAPSED })
      else if (final.status === 'CONFIRMED') onFinished({ kind: 'done', text: `Booked: ${final.seats.map((s) => s.label).join(', ')}.` })
      else onFinished({ kind: 'released', text: 'This booking was cancelled and its seats released.' })
    })
    return () => { current = false }
  }, [lapsed, booking.id])

  /**
   * @param {() => Promise<void>} action
   */
  const run = async (action) => {
    setBusy(true)
    setError(null)
    try {
      await action()
    } catch (e) {
      if (e instanceof ApiError && e.code === 'HOLD_EXPIRED') onFinished({ kind: 'lapsed', text: LAPSED })
      else setError(e)
    } finally {
      setBusy(false)
    }
  }

  const confirm = () => run(async () => {
    // Payment is simulated: a reference the way a payment provider would hand one back.
    const paymentReference = `sim_${crypto.randomUUID()}`
    const done = await unwrap(api.POST('/api/bookings/{id}/confirm', { params: { path: { id: booking.id } }, body: { paymentReference } }))
    onFinished({ kind: 'done', text: `Booked: ${done.seats.map((s) => s.label).join(', ')} · paid ${money(done.totalPriceCents)}. Enjoy the show!` })
  })
  const extend = () => run(async () => {
    const extended = await unwrap(api.POST('/api/bookings/{id}/extend', { params: { path: { id: booking.id } } }))
    onChange(/** @type {Booking} */ (extended))
    announce('Your hold was extended.')
  })
  const release = () => run(async () => {
    await unwrap(api.POST('/api/bookings/{id}/cancel', { params: { path: { id: booking.id } } }))
    onFinished({ kind: 'released', text: 'Your seats were released.' })
  })

  const seats = booking.seats
  return html`
    <div class="panel stack checkout">
      <h2>Your hold</h2>
      <ul class="held-seats">
        ${seats.map((s) => html`<li key=${s.id}>${s.label}${s.category !== undefined ? ` · ${s.category}` : ''}${s.priceCents !== undefined ? ` · ${money(s.priceCents)}` : ''}</li>`)}
      </ul>
      <p>Total <strong>${money(booking.totalPriceCents)}</strong></p>
      ${lapsed
        ? html`<p class="expiring" role="status">Time is up. Releasing your seats…</p>`
        : html`<p class=${left < 30_000 ? 'timer expiring' : 'timer'}>Held for you for <span role="timer" aria-label="Time left on your hold">${clock(left)}</span></p>`}
      ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
      <fieldset class="payment" disabled=${busy || lapsed}>
        <legend>Payment (simulated)</legend>
        <p class="hint">No card is charged: this reference client pretends the payment succeeded.</p>
        <button type="button" onClick=${confirm}>Pay ${money(booking.totalPriceCents)} and confirm</button>
      </fieldset>
      <div class="inline">
        ${booking.extensions !== undefined && html`
          <button type="button" class="small secondary" disabled=${busy || lapsed} onClick=${extend}>Extend hold${booking.extensions > 0 ? ` (extended ${booking.extensions}×)` : ''}</button>`}
        <button type="button" class="small secondary danger" disabled=${busy || lapsed} onClick=${release}>Release seats</button>
      </div>
    </div>`
}
