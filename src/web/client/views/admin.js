import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { api, messageOf, unwrap } from '../api/client.js'
import { announce } from '../announce.js'
import { TYPE_NAMES, money, when } from '../format.js'
import { user } from '../session.js'

/** @typedef {import('../api/types').Show} Show */
/** @typedef {import('../api/types').Booking} Booking */
/** @typedef {import('../api/types').CreateShowRequest} CreateShowRequest */
/** @typedef {{ key: number, name: string, price: string, seats: string }} CategoryDraft */

/** "A1, A2  B3" → ["A1", "A2", "B3"] */
const listOf = (/** @type {string} */ text) => text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== '')

/** "12.50" → 1250 (NaN stays NaN: the server names the field) */
const cents = (/** @type {string} */ text) => Math.round(Number(text.replace(',', '.')) * 100)

/** Tomorrow 19:30, local time, as a datetime-local value. */
function tomorrowEvening () {
  const d = new Date(Date.now() + 86_400_000)
  d.setHours(19, 30, 0, 0)
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

let categoryKeys = 0

/** @param {{ created: (show: Show) => void }} props */
function CreateShow ({ created }) {
  const [seating, setSeating] = useState(/** @type {'rows' | 'labels'} */ ('rows'))
  const [categories, setCategories] = useState(/** @type {CategoryDraft[]} */ ([]))
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(/** @type {unknown} */ (null))

  /** @param {number} key @param {Partial<CategoryDraft>} change */
  const edit = (key, change) => setCategories((all) => all.map((c) => c.key === key ? { ...c, ...change } : c))

  /** @param {SubmitEvent} event */
  const submit = async (event) => {
    event.preventDefault()
    const formElement = /** @type {HTMLFormElement} */ (event.currentTarget)
    const form = new FormData(formElement)
    const text = (/** @type {string} */ name) => String(form.get(name) ?? '').trim()
    const start = new Date(text('startTime'))
    /** @type {CreateShowRequest} */
    const body = {
      name: text('name'),
      type: /** @type {CreateShowRequest['type']} */ (text('type')),
      startTime: Number.isNaN(start.getTime()) ? text('startTime') : start.toISOString(),
      priceCents: cents(text('price') || '0'),
      seating: seating === 'rows'
        ? { totalSeats: Number(text('totalSeats')), seatsPerRow: Number(text('seatsPerRow')), ...(text('rowPreference') !== '' ? { rowPreference: listOf(text('rowPreference')) } : {}) }
        : { labels: listOf(text('labels')) }
    }
    if (text('venue') !== '') body.venue = text('venue')
    if (text('description') !== '') body.description = text('description')
    if (text('holdSeconds') !== '') body.holdSeconds = Number(text('holdSeconds'))
    if (categories.length > 0) {
      body.categories = categories.map((c) => ({
        name: c.name.trim().toUpperCase(),
        priceCents: cents(c.price),
        ...(seating === 'rows' ? { rows: listOf(c.seats) } : { labels: listOf(c.seats) })
      }))
    }
    setBusy(true)
    setError(null)
    try {
      const show = /** @type {Show} */ (await unwrap(api.POST('/api/admin/shows', { body: /** @type {never} */ (body) })))
      formElement.reset()
      setCategories([])
      created(show)
      announce(`Show ${show.name} created.`)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  // The fields are uncontrolled and take defaultValue: a `value` would be put back on every
  // re-render (adding a category, say), over what the admin had typed.
  return html`
    <form class="panel stack create-show" onSubmit=${submit} noValidate aria-labelledby="create-heading" aria-busy=${busy}>
      <h2 id="create-heading">Create a show</h2>
      <div class="grid-2">
        <label>Name <input name="name" required /></label>
        <div class="field">
          <label for="new-show-type">Type</label>
          <select id="new-show-type" name="type">${Object.entries(TYPE_NAMES).map(([value, name]) => html`<option value=${value}>${name}</option>`)}</select>
        </div>
        <label>Starts <input name="startTime" type="datetime-local" defaultValue=${tomorrowEvening()} required /></label>
        <label><span>Venue <span class="hint">(optional)</span></span> <input name="venue" /></label>
        <label>Base price <input name="price" inputmode="decimal" defaultValue="12.50" /></label>
        <label><span>Hold time in seconds <span class="hint">(optional, 30–1800)</span></span> <input name="holdSeconds" inputmode="numeric" /></label>
      </div>
      <label><span>Description <span class="hint">(optional)</span></span> <textarea name="description" rows="2"></textarea></label>
      <fieldset>
        <legend>Seating</legend>
        <div class="inline">
          <label class="choice"><input type="radio" name="seating" value="rows" checked=${seating === 'rows'} onChange=${() => setSeating('rows')} /> Rows of seats</label>
          <label class="choice"><input type="radio" name="seating" value="labels" checked=${seating === 'labels'} onChange=${() => setSeating('labels')} /> Named seats or slots</label>
        </div>
        ${seating === 'rows'
          ? html`<div class="grid-2">
              <label>Total seats <input name="totalSeats" inputmode="numeric" defaultValue="96" /></label>
              <label>Seats per row <input name="seatsPerRow" inputmode="numeric" defaultValue="12" /></label>
              <label class="span-2"><span>Best rows first <span class="hint">(optional, e.g. F G E H)</span></span> <input name="rowPreference" /></label>
            </div>`
          : html`<label><span>Seat labels <span class="hint">(separated by spaces or commas, e.g. 10:00 10:15 10:30)</span></span> <textarea name="labels" rows="2"></textarea></label>`}
      </fieldset>
      <fieldset>
        <legend>Price categories <span class="hint">(seats in none are STANDARD at the base price)</span></legend>
        ${categories.map((c, i) => html`
          <div class="category-row" key=${c.key} role="group" aria-label=${`Category ${i + 1}`}>
            <label>Name <input value=${c.name} onInput=${(/** @type {Event} */ e) => edit(c.key, { name: /** @type {HTMLInputElement} */ (e.currentTarget).value })} placeholder="PREMIUM" /></label>
            <label>Price <input value=${c.price} inputmode="decimal" onInput=${(/** @type {Event} */ e) => edit(c.key, { price: /** @type {HTMLInputElement} */ (e.currentTarget).value })} /></label>
            <label>${seating === 'rows' ? 'Rows' : 'Seats'} <input value=${c.seats} placeholder=${seating === 'rows' ? 'F G' : 'A1 A2'} onInput=${(/** @type {Event} */ e) => edit(c.key, { seats: /** @type {HTMLInputElement} */ (e.currentTarget).value })} /></label>
            <button type="button" class="small secondary" aria-label=${`Remove category ${i + 1}`} onClick=${() => setCategories((all) => all.filter((x) => x.key !== c.key))}>Remove</button>
          </div>`)}
        <button type="button" class="small secondary" onClick=${() => setCategories((all) => [...all, { key: ++categoryKeys, name: '', price: '', seats: '' }])}>Add a category</button>
      </fieldset>
      ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
      <button type="submit" disabled=${busy}>Create show</button>
    </form>`
}

/** @param {{ show: Show }} props */
function ShowBookings ({ show }) {
  const [bookings, setBookings] = useState(/** @type {Booking[] | null} */ (null))
  const [error, setError] = useState(/** @type {unknown} */ (null))
  useEffect(() => {
    unwrap(api.GET('/api/admin/shows/{id}/bookings', { params: { path: { id: show.id }, query: { limit: 100, offset: 0 } } }))
      .then((list) => setBookings(/** @type {Booking[]} */ (list.items)))
      .catch(setError)
  }, [show.id])
  if (error !== null) return html`<p class="error" role="alert">${messageOf(error)}</p>`
  if (bookings === null) return html`<p>Loading bookings…</p>`
  if (bookings.length === 0) return html`<p>No bookings yet.</p>`
  return html`
    <table class="bookings-table">
      <caption class="visually-hidden">Bookings for ${show.name}</caption>
      <thead><tr><th scope="col">Seats</th><th scope="col">Status</th><th scope="col">Total</th><th scope="col">Made</th></tr></thead>
      <tbody>
        ${bookings.map((b) => html`<tr key=${b.id}><td>${b.seats.map((s) => s.label).join(', ')}</td><td>${b.status}</td><td>${money(b.totalPriceCents)}</td><td>${when(b.createdAt)}</td></tr>`)}
      </tbody>
    </table>`
}

/** @param {{ show: Show, changed: (show: Show) => void }} props */
function AdminShow ({ show, changed }) {
  const [open, setOpen] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [error, setError] = useState(/** @type {unknown} */ (null))
  const cancel = async () => {
    setError(null)
    try {
      const done = /** @type {Show} */ (await unwrap(api.POST('/api/admin/shows/{id}/cancel', { params: { path: { id: show.id } } })))
      changed(done)
      announce(`Show ${show.name} cancelled.`)
    } catch (e) {
      setError(e)
    } finally {
      setConfirming(false)
    }
  }
  const panel = `bookings-${show.id}`
  return html`
    <li class="card admin-show">
      <h3><a href=${`#/shows/${show.id}`}>${show.name}</a></h3>
      <p class="meta"><span class=${`badge type-${show.type.toLowerCase()}`}>${TYPE_NAMES[show.type]}</span> <time datetime=${show.startTime}>${when(show.startTime)}</time>${' · '}<span class=${`status ${show.status.toLowerCase()}`}>${show.status === 'SCHEDULED' ? 'Scheduled' : 'Cancelled'}</span></p>
      <p>${show.availableSeats} free · ${show.heldSeats} held · ${show.bookedSeats} booked of ${show.totalSeats}</p>
      ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
      <div class="inline">
        <button type="button" class="small secondary" aria-expanded=${open} aria-controls=${panel} onClick=${() => setOpen(!open)}>
          ${open ? 'Hide bookings' : 'Bookings'}<span class="visually-hidden"> for ${show.name}</span></button>
        ${show.status === 'SCHEDULED' && !confirming && html`
          <button type="button" class="small secondary danger" onClick=${() => setConfirming(true)}>Cancel show<span class="visually-hidden"> ${show.name}</span></button>`}
        ${confirming && html`
          <span role="group" aria-label="Confirm cancelling">Cancel it and all its bookings?
            <button type="button" class="small danger" onClick=${cancel}>Yes, cancel ${show.name}</button>
            <button type="button" class="small secondary" onClick=${() => setConfirming(false)}>Keep it</button></span>`}
      </div>
      <div id=${panel}>${open && html`<${ShowBookings} show=${show} />`}</div>
    </li>`
}

export function AdminPage () {
  const [shows, setShows] = useState(/** @type {Show[] | null} */ (null))
  const [error, setError] = useState(/** @type {unknown} */ (null))
  const admin = user.value?.role === 'ADMIN'

  const load = () => unwrap(api.GET('/api/admin/shows', { params: { query: { limit: 100, offset: 0 } } }))
    .then((list) => setShows(/** @type {Show[]} */ (list.items)))
    .catch(setError)
  useEffect(() => { if (admin) void load() }, [admin])

  if (!admin) return html`<h1 tabindex="-1">Admin</h1><p>This page is for administrators. <a href="#/signin">Sign in</a> with an admin account.</p>`
  /** @param {Show} changed */
  const replace = (changed) => setShows((all) => all?.map((s) => s.id === changed.id ? changed : s) ?? null)
  return html`
    <h1 tabindex="-1">Admin</h1>
    <div class="admin">
      <${CreateShow} created=${(/** @type {Show} */ show) => setShows((all) => [show, ...(all ?? [])])} />
      <section aria-labelledby="admin-shows-heading">
        <h2 id="admin-shows-heading">Shows</h2>
        ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
        ${shows === null && error === null && html`<p>Loading shows…</p>`}
        ${shows !== null && html`<ul class="cards" aria-label="All shows">${shows.map((s) => html`<${AdminShow} key=${s.id} show=${s} changed=${replace} />`)}</ul>`}
      </section>
    </div>`
}
