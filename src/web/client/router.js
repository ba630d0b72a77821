// Hash routes (#/shows/…): the server serves one page at `/`, so every view is a link that
// works on reload, in a new tab and with the back button, with no server-side fallback route.
import { signal } from '@preact/signals'

/** @typedef {{ name: 'shows' } | { name: 'show', id: string } | { name: 'signin' } | { name: 'signup' } | { name: 'bookings' } | { name: 'admin' } | { name: 'missing' }} Route */

/** @returns {Route} */
function parse () {
  const path = location.hash.replace(/^#/, '') || '/'
  const show = /^\/shows\/([0-9a-fA-F]{24})$/.exec(path)
  if (show !== null) return { name: 'show', id: show[1] }
  switch (path) {
    case '/': case '/shows': return { name: 'shows' }
    case '/signin': return { name: 'signin' }
    case '/signup': return { name: 'signup' }
    case '/bookings': return { name: 'bookings' }
    case '/admin': return { name: 'admin' }
  }
  return { name: 'missing' }
}

export const route = signal(parse())
addEventListener('hashchange', () => { route.value = parse() })

/** @param {string} path like `/shows` */
export function navigate (path) {
  location.hash = `#${path}`
}
