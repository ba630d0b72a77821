import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { ApiError, messageOf, publicApi, unwrap } from '../api/client.js'
import { navigate } from '../router.js'
import { sessionNotice, setSession } from '../session.js'

/** @typedef {import('../api/types').Session} Session */

/** Which field an error is about, so it can be marked invalid and described. */
function fieldOf (/** @type {unknown} */ error) {
  if (!(error instanceof ApiError)) return null
  if (error.code === 'EMAIL_TAKEN' || error.code === 'INVALID_CREDENTIALS') return 'email'
  if (error.code === 'WEAK_PASSWORD') return 'password'
  if (error.code === 'VALIDATION_ERROR') {
    const named = /\b(email|password|name)\b/.exec(error.message)
    return named === null ? null : named[1]
  }
  return null
}

/**
 * @param {{ mode: 'signin' | 'signup' }} props
 */
function AuthForm ({ mode }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(/** @type {unknown} */ (null))
  const signup = mode === 'signup'
  const invalid = fieldOf(error)
  const errorId = `${mode}-error`

  /** @param {SubmitEvent} event */
  const submit = async (event) => {
    event.preventDefault()
    const form = new FormData(/** @type {HTMLFormElement} */ (event.currentTarget))
    const email = String(form.get('email') ?? '').trim()
    const password = String(form.get('password') ?? '')
    setBusy(true)
    setError(null)
    try {
      const data = signup
        ? await unwrap(publicApi.POST('/api/auth/register', { body: { email, password, name: String(form.get('name') ?? '') } }))
        : await unwrap(publicApi.POST('/api/auth/login', { body: { email, password } }))
      sessionNotice.value = ''
      setSession(/** @type {Session} */ (data))
      navigate('/')
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  /** @param {string} field */
  const describedBy = (field) => invalid === field ? errorId : undefined
  return html`
    <div class="auth">
      <h1 tabindex="-1">${signup ? 'Create an account' : 'Sign in'}</h1>
      <form class="panel stack" onSubmit=${submit} noValidate aria-busy=${busy}>
        ${signup && html`
          <label>Name
            <input name="name" autocomplete="name" required aria-invalid=${invalid === 'name'} aria-describedby=${describedBy('name')} />
          </label>`}
        <label>Email
          <input name="email" type="email" autocomplete="email" required aria-invalid=${invalid === 'email'} aria-describedby=${describedBy('email')} />
        </label>
        <label>Password
          <input name="password" type="password" autocomplete=${signup ? 'new-password' : 'current-password'} required
            aria-invalid=${invalid === 'password'} aria-describedby=${invalid === 'password' ? errorId : signup ? 'password-hint' : undefined} />
          ${signup && html`<span class="hint" id="password-hint">8 to 128 characters, not a common password.</span>`}
        </label>
        ${error !== null && html`<p class="error" role="alert" id=${errorId}>${messageOf(error)}</p>`}
        <button type="submit" disabled=${busy}>${signup ? 'Create account' : 'Sign in'}</button>
      </form>
      <p>${signup
        ? html`Already have an account? <a href="#/signin">Sign in</a>`
        : html`New here? <a href="#/signup">Create an account</a>`}</p>
    </div>`
}

export const SignIn = () => html`<${AuthForm} mode="signin" />`
export const SignUp = () => html`<${AuthForm} mode="signup" />`
