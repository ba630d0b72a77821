// One polite live region for the whole app: what changed without the user's own action
// (a seat taken by someone else, a hold about to lapse) is read out without moving focus.
import { signal } from '@preact/signals'

export const announcement = signal('')

/** @param {string} text */
export function announce (text) {
  // Cleared first so the same sentence twice is still read twice.
  announcement.value = ''
  setTimeout(() => { announcement.value = text }, 50)
}
