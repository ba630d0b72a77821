// The signed-in session: kept in localStorage (so a reload or a second tab stays signed in),
// its short-lived access token refreshed with the rotating refresh token before it runs out.
// A refresh token works once: tabs take a lock and re-read the stored session before
// refreshing, so two tabs never present the same one (the server would take that for theft
// and end the sign-in).
import { computed, signal } from '@preact/signals'
import { publicApi } from './api/client.js'

/** @typedef {import('./api/types').Session} Session */

const KEY = 'modex.session'
/** Refresh this long before the access token's expiry (at most a quarter of its lifetime). */
const REFRESH_LEAD_MS = 60_000

/** @returns {Session | null} */
function stored () {
  try {
    const raw = localStorage.getItem(KEY)
    return raw === null ? null : /** @type {Session} */ (JSON.parse(raw))
  } catch {
    return null
  }
}

export const session = signal(stored())
export const user = computed(() => session.value?.user ?? null)
/** Why the user was signed out, shown once on the sign-in page. */
export const sessionNotice = signal('')

export const currentSession = () => session.value

/**
 * When the access token expires (ms): `expiresAt`, else the JWT's own `exp`.
 * @param {Session} s
 */
function tokenExpiry (s) {
  if (s.expiresAt !== undefined) return Date.parse(s.expiresAt)
  try {
    const payload = JSON.parse(atob(s.token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')))
    return typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity
  } catch {
    return Infinity
  }
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer

function scheduleRefresh () {
  clearTimeout(refreshTimer)
  const s = session.value
  if (s?.refreshToken === undefined) return
  const remaining = tokenExpiry(s) - Date.now()
  if (!Number.isFinite(remaining)) return
  const wait = Math.max(0, remaining - Math.min(REFRESH_LEAD_MS, remaining / 4))
  refreshTimer = setTimeout(() => { void refreshSession() }, wait)
}

/** @param {Session | null} next */
export function setSession (next) {
  session.value = next
  if (next === null) localStorage.removeItem(KEY)
  else localStorage.setItem(KEY, JSON.stringify(next))
  scheduleRefresh()
}

/** Signs out locally, saying why (the server already ended the sign-in, or refused it). */
export function endSession (/** @type {string} */ notice) {
  if (session.value === null) return
  sessionNotice.value = notice
  setSession(null)
}

/** Another tab signed in, refreshed or signed out. */
addEventListener('storage', (event) => {
  if (event.key !== KEY) return
  session.value = stored()
  scheduleRefresh()
})

/** @type {Promise<boolean> | null} */
let refreshing = null

/**
 * Trades the refresh token for a new session. True when a usable session is there afterwards.
 * A refused refresh token (used already, revoked, expired) signs the user out cleanly.
 * @returns {Promise<boolean>}
 */
export function refreshSession () {
  refreshing ??= withLock(refreshOnce).finally(() => { refreshing = null })
  return refreshing
}

/** @param {() => Promise<boolean>} fn */
async function withLock (fn) {
  if (navigator.locks === undefined) return await fn()
  return await navigator.locks.request('modex-session-refresh', fn)
}

async function refreshOnce () {
  const mine = session.value
  const latest = stored()
  // Another tab refreshed while this one waited for the lock: use its session.
  if (latest !== null && latest.refreshToken !== mine?.refreshToken && tokenExpiry(latest) > Date.now() + 5000) {
    session.value = latest
    scheduleRefresh()
    return true
  }
  const refreshToken = latest?.refreshToken ?? mine?.refreshToken
  if (refreshToken === undefined) return false
  try {
    const { data, response } = await publicApi.POST('/api/auth/refresh', { body: { refreshToken } })
    if (response.ok && data !== undefined) {
      setSession(/** @type {Session} */ (data))
      return true
    }
    if (response.status === 401 || response.status === 403 || response.status === 404) {
      endSession(response.status === 403 ? 'This account is disabled.' : 'Your session has ended. Please sign in again.')
      return false
    }
  } catch {
    // Offline: keep the session; the next request tries again.
  }
  scheduleRefresh()
  return false
}

/**
 * The access token to send now, refreshed first if it is about to run out; null when signed out.
 * @returns {Promise<string | null>}
 */
export async function ensureFreshToken () {
  const s = session.value
  if (s === null) return null
  // About to run out (within 2 s, the time a request may take to arrive): refresh first.
  if (s.refreshToken !== undefined && tokenExpiry(s) - Date.now() < 2000) await refreshSession()
  return session.value?.token ?? null
}

/** Signs out here and on the server (that sign-in's refresh tokens stop working). */
export async function signOut () {
  const refreshToken = session.value?.refreshToken
  setSession(null)
  if (refreshToken !== undefined) {
    try {
      await publicApi.POST('/api/auth/logout', { body: { refreshToken } })
    } catch {
      // The token is forgotten here either way; it expires on its own.
    }
  }
}

scheduleRefresh()
