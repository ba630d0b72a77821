import { html } from 'htm/preact'
import { useEffect, useErrorBoundary } from 'preact/hooks'
import { announcement } from '../announce.js'
import { route } from '../router.js'
import { sessionNotice, signOut, user } from '../session.js'
import { AdminPage } from './admin.js'
import { SignIn, SignUp } from './auth.js'
import { BookingsPage } from './bookings.js'
import { ShowPage } from './show-page.js'
import { ShowsPage } from './shows.js'

function Header () {
  const me = user.value
  const current = route.value.name
  /** @param {string} name */
  const here = (name) => current === name ? 'page' : undefined
  return html`
    <header class="site-header">
      <a class="skip-link" href="#main" onClick=${skipToMain}>Skip to content</a>
      <a class="brand" href="#/">Modex</a>
      <nav aria-label="Main">
        <ul>
          <li><a href="#/" aria-current=${here('shows')}>Shows</a></li>
          ${me !== null && html`<li><a href="#/bookings" aria-current=${here('bookings')}>My bookings</a></li>`}
          ${me?.role === 'ADMIN' && html`<li><a href="#/admin" aria-current=${here('admin')}>Admin</a></li>`}
        </ul>
      </nav>
      <div class="account">
        ${me === null
          ? html`<a href="#/signin" aria-current=${here('signin')}>Sign in</a> <a class="button small" href="#/signup" aria-current=${here('signup')}>Sign up</a>`
          : html`<span class="who">Signed in as <strong>${me.name}</strong></span> <button type="button" class="small secondary" onClick=${() => { void signOut() }}>Sign out</button>`}
      </div>
    </header>`
}

/** The skip link moves focus, not only the scroll position (a hash link would change the route). */
function skipToMain (/** @type {Event} */ event) {
  event.preventDefault()
  document.getElementById('main')?.focus()
}

function Page () {
  const r = route.value
  switch (r.name) {
    case 'shows': return html`<${ShowsPage} />`
    case 'show': return html`<${ShowPage} key=${r.id} id=${r.id} />`
    case 'signin': return html`<${SignIn} />`
    case 'signup': return html`<${SignUp} />`
    case 'bookings': return html`<${BookingsPage} />`
    case 'admin': return html`<${AdminPage} />`
    default: return html`<h1 tabindex="-1">Page not found</h1><p><a href="#/">See the shows</a></p>`
  }
}

/** Never a blank screen: a view that throws is replaced by a message and a way on. */
function Boundary () {
  const [error, reset] = useErrorBoundary()
  if (error !== undefined) {
    return html`
      <div class="panel" role="alert">
        <h1 tabindex="-1">Something went wrong</h1>
        <p>This page hit an unexpected problem. Your bookings are safe.</p>
        <button type="button" onClick=${() => { reset(); location.hash = '#/' }}>Back to the shows</button>
      </div>`
  }
  return html`<${Page} />`
}

export function App () {
  const r = route.value
  // A new view: screen readers hear its heading, keyboard users start from it.
  useEffect(() => {
    const heading = /** @type {HTMLElement | null} */ (document.querySelector('main h1'))
    heading?.focus({ preventScroll: true })
    scrollTo(0, 0)
  }, [r])
  return html`
    <${Header} />
    ${sessionNotice.value !== '' && html`
      <div class="notice banner" role="status">
        ${sessionNotice.value} ${r.name !== 'signin' && html`<a href="#/signin">Sign in</a>`}
        <button type="button" class="small secondary" onClick=${() => { sessionNotice.value = '' }}>Dismiss</button>
      </div>`}
    <main id="main" tabindex="-1">
      <${Boundary} key=${r.name} />
    </main>
    <div class="visually-hidden" aria-live="polite" aria-atomic="true">${announcement.value}</div>
    <footer class="site-footer"><a href="/docs">API documentation</a></footer>`
}
