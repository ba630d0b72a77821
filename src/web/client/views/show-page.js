import { html } from 'htm/preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { ApiError, api, messageOf, unwrap } from '../api/client.js'
import { announce } from '../announce.js'
import { TYPE_NAMES, money, when } from '../format.js'
import { watchSeats } from '../live-seats.js'
import { user } from '../session.js'
import { Checkout } from './checkout.js'
import { Legend, SeatMap, seatPrice } from './seat-map.js'

/** @typedef {import('../api/types').Show} Show */
/** @typedef {import('../api/types').Seat} Seat */
/** @typedef {import('../api/types').SeatCounts} SeatCounts */
/** @typedef {import('../api/types').Booking} Booking */
/** @typedef {import('../live-seats.js').LiveMode} LiveMode */
/** @typedef {{ kind: 'done' | 'lapsed' | 'released', text: string }} Outcome */

const MODE_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', polling: 'Updating every 2 s' }
const MAX_PER_BOOKING = 10

/** @param {Seat[]} seats */
const countsOf = (seats) => {
  const counts = { AVAILABLE: 0, HELD: 0, BOOKED: 0 }
  for (const seat of seats) counts[seat.status]++
  return counts
}

/** @param {{ id: string }} props */
export function ShowPage ({ id }) {
  const [show, setShow] = useState(/** @type {Show | null} */ (null))
  const [seats, setSeats] = useState(/** @type {Seat[]} */ ([]))
  const [counts, setCounts] = useState(/** @type {SeatCounts | null} */ (null))
  const [mode, setMode] = useState(/** @type {LiveMode} */ ('connecting'))
  const [selected, setSelected] = useState(/** @type {Set<string>} */ (new Set()))
  const [booking, setBooking] = useState(/** @type {Booking | null} */ (null))
  const [outcome, setOutcome] = useState(/** @type {Outcome | null} */ (null))
  const [error, setError] = useState(/** @type {unknown} */ (null))
  const [loadError, setLoadError] = useState(/** @type {unknown} */ (null))
  const [busy, setBusy] = useState(false)
  const signedIn = user.value !== null
  // The live callbacks read the latest selection without re-subscribing.
  const selectedRef = useRef(selected)
  selectedRef.current = selected

  useEffect(() => {
    let current = true
    unwrap(api.GET('/api/shows/{id}', { params: { path: { id } } }))
      .then((s) => { if (current) setShow(/** @type {Show} */ (s)) })
      .catch((e) => { if (current) setLoadError(e) })
    const stop = watchSeats(id, {
      map: (all, c) => { setSeats(all); setCounts(c); dropTaken(all) },
      changes: (changes, c) => {
        const byId = new Map(changes.map((change) => [change.id, change.status]))
        setSeats((all) => {
          const next = all.map((seat) => byId.has(seat.id) ? { ...seat, status: /** @type {Seat['status']} */ (byId.get(seat.id)) } : seat)
          dropTaken(next)
          return next
        })
        if (c !== undefined) setCounts(c)
      },
      showStatus: (status) => setShow((s) => s === null ? s : { ...s, status: /** @type {Show['status']} */ (status) }),
      mode: setMode,
      failed: (e) => { if (e instanceof ApiError && e.status === 404) setLoadError(e) }
    })
    return () => { current = false; stop() }
  }, [id])

  // A signed-in user coming back to a show finds their hold where they left it.
  useEffect(() => {
    if (!signedIn) { setBooking(null); return }
    let current = true
    unwrap(api.GET('/api/bookings', { params: { query: { status: 'PENDING', limit: 100, offset: 0 } } }))
      .then((list) => {
        const pending = list.items.find((b) => b.showId === id)
        if (current && pending !== undefined) setBooking(/** @type {Booking} */ (pending))
      })
      .catch(() => { /* the seat map works without it */ })
    return () => { current = false }
  }, [id, signedIn])

  /** Seats chosen here that someone else has just taken leave the selection, out loud. */
  function dropTaken (/** @type {Seat[]} */ all) {
    const taken = all.filter((seat) => selectedRef.current.has(seat.id) && seat.status !== 'AVAILABLE')
    if (taken.length === 0) return
    const next = new Set(selectedRef.current)
    for (const seat of taken) next.delete(seat.id)
    selectedRef.current = next
    setSelected(next)
    const labels = taken.map((seat) => seat.label).join(', ')
    setError(new Error(`Sorry, already taken by someone else: ${labels}.`))
    announce(`Seat ${labels} was just taken by someone else.`)
  }

  const mine = useMemo(() => new Set(booking?.seats.map((seat) => seat.id) ?? []), [booking])
  const chosen = seats.filter((seat) => selected.has(seat.id))
  const bookable = show?.status === 'SCHEDULED' && Date.parse(show.startTime) > Date.now()

  /** @param {Seat} seat */
  const toggle = (seat) => {
    setOutcome(null)
    const next = new Set(selected)
    if (next.has(seat.id)) next.delete(seat.id)
    else if (next.size >= MAX_PER_BOOKING) {
      setError(new Error(`You can choose up to ${MAX_PER_BOOKING} seats in one booking.`))
      return
    } else next.add(seat.id)
    setError(null)
    setSelected(next)
  }

  /** @param {import('../api/types').HoldRequest} body */
  const hold = async (body) => {
    setBusy(true)
    setError(null)
    setOutcome(null)
    try {
      const held = /** @type {Booking} */ (await unwrap(api.POST('/api/shows/{id}/bookings', {
        params: { path: { id } },
        // A retried click (double submit, flaky network) must not make a second booking.
        headers: { 'idempotency-key': crypto.randomUUID() },
        body
      })))
      setBooking(held)
      setSelected(new Set())
      // The service has just said these seats are held: show it now, not at the next update.
      const heldIds = new Set(held.seats.map((s) => s.id))
      setSeats((all) => {
        const next = all.map((seat) => heldIds.has(seat.id) ? { ...seat, status: /** @type {Seat['status']} */ ('HELD') } : seat)
        setCounts(countsOf(next))
        return next
      })
      announce(`${held.seats.length === 1 ? 'Seat' : 'Seats'} ${held.seats.map((s) => s.label).join(', ')} held for you. Confirm before the timer runs out.`)
    } catch (e) {
      setError(e)
      if (e instanceof ApiError && e.code === 'SEATS_UNAVAILABLE' && Array.isArray(e.details?.seats)) {
        const taken = new Set(/** @type {string[]} */ (e.details.seats))
        // The map was behind: mark what the server says is taken, and drop it from the choice.
        setSeats((all) => all.map((seat) => taken.has(seat.label) && seat.status === 'AVAILABLE' ? { ...seat, status: 'HELD' } : seat))
        setSelected((s) => new Set([...s].filter((seatId) => !seats.some((seat) => seat.id === seatId && taken.has(seat.label)))))
      }
    } finally {
      setBusy(false)
    }
  }

  /** @param {Outcome} result */
  const finished = (result) => {
    setBooking(null)
    setOutcome(result)
    announce(result.text)
  }

  if (loadError !== null) {
    return html`<h1 tabindex="-1">Show not available</h1><p class="error" role="alert">${messageOf(loadError)}</p><p><a href="#/">See all shows</a></p>`
  }
  if (show === null) return html`<h1 tabindex="-1">Loading show…</h1>`

  const total = chosen.reduce((sum, seat) => sum + seatPrice(seat, show), 0)
  return html`
    <div class="show-page">
      <div class="show-head">
        <h1 tabindex="-1">${show.name}</h1>
        <p class="meta"><span class=${`badge type-${show.type.toLowerCase()}`}>${TYPE_NAMES[show.type]}</span>
          <time datetime=${show.startTime}>${when(show.startTime)}</time>${show.venue !== null && show.venue !== '' ? ` · ${show.venue}` : ''}</p>
        ${show.description !== null && show.description !== '' && html`<p>${show.description}</p>`}
        ${show.status === 'CANCELLED' && html`<p class="error" role="alert">This show was cancelled.</p>`}
      </div>
      <div class="show-body">
        <section class="map-panel" aria-labelledby="seats-heading">
          <div class="map-head">
            <h2 id="seats-heading">Seats</h2>
            <span class=${`live-mode mode-${mode}`}>${MODE_TEXT[mode]}</span>
          </div>
          <p class="counts" aria-live="off">${counts === null ? '' : `${counts.AVAILABLE} available · ${counts.HELD} held · ${counts.BOOKED} booked`}</p>
          <${Legend} show=${show} counts=${counts} />
          ${booking !== null && html`<p class="hint">Confirm or release your hold to choose other seats.</p>`}
          <${SeatMap} show=${show} seats=${seats} selected=${selected} mine=${mine} toggle=${toggle} locked=${!bookable || booking !== null || busy} />
        </section>
        <aside class="side-panel" aria-label="Your booking">
          ${outcome !== null && html`<div class=${`panel outcome ${outcome.kind}`} role="status"><p>${outcome.text}</p>${outcome.kind === 'done' && html`<p><a href="#/bookings">See my bookings</a></p>`}</div>`}
          ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
          ${booking === null && !bookable && show.status !== 'CANCELLED' && html`<p class="panel">Booking has closed for this show.</p>`}
          ${booking !== null
            ? html`<${Checkout} booking=${booking} onChange=${setBooking} onFinished=${finished} />`
            : bookable && html`
              <div class="panel stack">
                <h2>Your choice</h2>
                ${chosen.length === 0
                  ? html`<p>Pick seats on the map, or let us find the best ones.</p>`
                  : html`<p>${chosen.map((s) => s.label).join(', ')} · total <strong>${money(total)}</strong></p>`}
                ${signedIn
                  ? html`<button type="button" disabled=${chosen.length === 0 || busy} onClick=${() => { void hold({ seatIds: chosen.map((s) => s.id) }) }}>
                      Hold ${chosen.length === 1 ? '1 seat' : `${chosen.length} seats`}</button>`
                  : html`<p><a href="#/signin">Sign in</a> or <a href="#/signup">create an account</a> to hold seats.</p>`}
              </div>
              ${signedIn && show.categories !== undefined && html`<${BestAvailable} show=${show} busy=${busy} hold=${hold} />`}`}
        </aside>
      </div>
    </div>`
}

/**
 * "Best available N (of a category)": the service chooses the seats. Offered where the
 * service has it: it came with price categories, so a show without `categories` is from an
 * older service that would refuse the request.
 * @param {{ show: Show, busy: boolean, hold: (body: import('../api/types').HoldRequest) => Promise<void> }} props
 */
function BestAvailable ({ show, busy, hold }) {
  const categories = show.categories ?? []
  /** @param {SubmitEvent} event */
  const submit = (event) => {
    event.preventDefault()
    const form = new FormData(/** @type {HTMLFormElement} */ (event.currentTarget))
    const quantity = Number(form.get('quantity'))
    const category = String(form.get('category') ?? '')
    void hold(category === '' ? { quantity } : { quantity, category })
  }
  return html`
    <form class="panel stack" onSubmit=${submit} aria-labelledby="best-heading">
      <h2 id="best-heading">Best available</h2>
      <div class="inline">
        <div class="field">
          <label for="best-quantity">Seats</label>
          <select id="best-quantity" name="quantity">
            ${Array.from({ length: MAX_PER_BOOKING }, (_, i) => html`<option value=${i + 1} defaultSelected=${i === 1}>${i + 1}</option>`)}
          </select>
        </div>
        ${categories.length > 0 && html`
          <div class="field">
            <label for="best-category">Category</label>
            <select id="best-category" name="category">
              <option value="">Any</option>
              ${categories.map((c) => html`<option value=${c.name}>${c.name} (${money(c.priceCents)})</option>`)}
            </select>
          </div>`}
      </div>
      <button type="submit" class="secondary" disabled=${busy}>Find and hold the best seats</button>
    </form>`
}
