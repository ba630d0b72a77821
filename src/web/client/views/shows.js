import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { api, messageOf, unwrap } from '../api/client.js'
import { TYPE_NAMES, money, when } from '../format.js'

/** @typedef {import('../api/types').Show} Show */
/** @typedef {keyof typeof TYPE_NAMES} ShowType */

/** The lowest price a show sells at (its categories may be cheaper than its base price). */
export function fromPrice (/** @type {Show} */ show) {
  const prices = [show.priceCents, ...(show.categories ?? []).map((c) => c.priceCents)]
  return Math.min(...prices)
}

export function ShowsPage () {
  const [type, setType] = useState(/** @type {ShowType | ''} */ (''))
  const [shows, setShows] = useState(/** @type {Show[] | null} */ (null))
  const [error, setError] = useState(/** @type {unknown} */ (null))

  useEffect(() => {
    let current = true
    setError(null)
    const query = type === '' ? { limit: 100, offset: 0 } : { type, limit: 100, offset: 0 }
    unwrap(api.GET('/api/shows', { params: { query } }))
      .then((list) => { if (current) setShows(/** @type {Show[]} */ (list.items)) })
      .catch((e) => { if (current) setError(e) })
    return () => { current = false }
  }, [type])

  return html`
    <h1 tabindex="-1">Upcoming shows</h1>
    <div class="toolbar">
      <div class="field">
        <label for="type-filter">Type of show</label>
        <select id="type-filter" value=${type} onChange=${(/** @type {Event} */ e) => setType(/** @type {ShowType | ''} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value))}>
          <option value="">All types</option>
          ${Object.entries(TYPE_NAMES).map(([value, name]) => html`<option value=${value}>${name}s</option>`)}
        </select>
      </div>
    </div>
    ${error !== null && html`<p class="error" role="alert">${messageOf(error)}</p>`}
    ${shows === null && error === null && html`<p aria-live="polite">Loading shows…</p>`}
    ${shows !== null && shows.length === 0 && html`<p>No upcoming shows${type === '' ? '' : ' of this type'}.</p>`}
    ${shows !== null && shows.length > 0 && html`
      <ul class="cards" aria-label="Shows">
        ${shows.map((show) => html`
          <li class="card" key=${show.id}>
            <h2><a href=${`#/shows/${show.id}`}>${show.name}</a></h2>
            <p class="meta"><span class=${`badge type-${show.type.toLowerCase()}`}>${TYPE_NAMES[show.type]}</span>
              <time datetime=${show.startTime}>${when(show.startTime)}</time>${show.venue !== null && show.venue !== '' ? ` · ${show.venue}` : ''}</p>
            <p>${show.availableSeats} of ${show.totalSeats} seats free · from ${money(fromPrice(show))}</p>
          </li>`)}
      </ul>`}`
}
