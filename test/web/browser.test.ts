// The web client end to end in a real headless Chromium against the real app: two users in
// two browser contexts watching one seat map, holds lapsing, seats taken under a user's
// feet, sign-up errors, the admin's pages, an accessibility check and the README screenshots.
import { existsSync, mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Browser, Page } from 'playwright-core'
import { ADMIN, adminAuth, buildTestApp, createShow, json, signUp } from '../helper.js'
import { CHROMIUM, launchBrowser, openPage, seat, seriousViolations, signInThroughUi, type UserPage } from './browser.js'

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url))
const PASSWORD = 'password-123'

if (!existsSync(CHROMIUM)) {
  t.fail(`no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`)
} else {
  await run()
}

async function run (): Promise<void> {
  // Holds last 4 s unless a show says otherwise (shows below that must not lapse ask for 60 s);
  // the sweep runs every second, so a lapsed hold is settled promptly.
  const app = await buildTestApp(t, { HOLD_SECONDS: '4', SWEEP_SECONDS: '1' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const baseURL = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser: Browser = await launchBrowser()
  const pages: UserPage[] = []
  const open = async (viewport?: { width: number, height: number }): Promise<UserPage> => {
    const opened = await openPage(browser, baseURL, viewport)
    pages.push(opened)
    return opened
  }
  /** A new account, signed in through the sign-in form in a context of its own. */
  const userPage = async (name: string): Promise<UserPage & { email: string }> => {
    const account = await signUp(app, name)
    const opened = await open()
    await signInThroughUi(opened.page, account.email, PASSWORD)
    return { ...opened, email: account.email }
  }
  const later = (hours: number): string => new Date(Date.now() + hours * 3_600_000).toISOString()

  t.teardown(async () => {
    await browser.close()
  })
  t.afterEach(() => {
    for (const { problems } of pages.splice(0)) {
      t.same(problems, [], 'no CSP violation or uncaught error on the page')
    }
  })

  await t.test('two users: one holds seats, the other sees them held, then booked, without reloading', async (t) => {
    const show = await createShow(app, { name: 'Two users', holdSeconds: 60, startTime: later(30), seating: { totalSeats: 24, seatsPerRow: 12 } })
    const ada = await userPage('ada')
    const bob = await userPage('bob')
    await ada.page.goto(`/#/shows/${show.id}`)
    await bob.page.goto(`/#/shows/${show.id}`)
    await seat(bob.page, 'A', 5, 'available').waitFor()
    await bob.page.getByText('Live', { exact: true }).waitFor()
    t.pass('the map is on the live stream')

    await seat(ada.page, 'A', 5, 'available').click()
    await seat(ada.page, 'A', 6, 'available').click()
    t.equal(await seat(ada.page, 'A', 5).getAttribute('aria-pressed'), 'true', 'a chosen seat is a pressed button')
    await ada.page.getByRole('button', { name: 'Hold 2 seats' }).click()
    await ada.page.getByRole('timer').waitFor()
    t.match(await ada.page.getByRole('complementary', { name: 'Your booking' }).innerText(), /A5[\s\S]*A6/, 'the hold lists its seats')

    // Bob's map changes by itself, from the live stream.
    await seat(bob.page, 'A', 5, 'held').waitFor()
    await seat(bob.page, 'A', 6, 'held').waitFor()
    t.ok(await seat(bob.page, 'A', 5, 'held').isDisabled(), 'a held seat cannot be chosen')

    await ada.page.getByRole('button', { name: /^Pay \d+\.\d\d and confirm$/ }).click()
    await ada.page.getByRole('status').filter({ hasText: 'Booked: A5, A6' }).waitFor()
    await seat(bob.page, 'A', 5, 'booked').waitFor()
    await seat(bob.page, 'A', 6, 'booked').waitFor()
    t.pass('held, then booked, on the other user\'s screen')

    // My bookings: the confirmed booking, cancelled from the list; Bob sees the seats free again.
    await ada.page.getByRole('navigation').getByRole('link', { name: 'My bookings', exact: true }).click()
    const bookings = ada.page.getByRole('list', { name: 'Bookings' })
    await bookings.getByText('Confirmed').waitFor()
    t.match(await bookings.innerText(), /Two users[\s\S]*Seats A5, A6/, 'the booking names its show and seats')
    await ada.page.getByRole('button', { name: /^Cancel booking for Two users, seats A5, A6$/ }).click()
    await bookings.getByText('Cancelled').waitFor()
    await seat(bob.page, 'A', 5, 'available').waitFor()
    t.pass('a cancelled booking frees its seats on the other screen')

    // The admin cancels the show while Bob watches: the live stream says so.
    const cancelled = await app.inject({ method: 'POST', url: `/api/admin/shows/${show.id}/cancel`, headers: await adminAuth(app) })
    t.equal(cancelled.statusCode, 200)
    await bob.page.getByRole('alert').filter({ hasText: 'This show was cancelled.' }).waitFor()
    t.ok(await seat(bob.page, 'A', 1).isDisabled(), 'and its seats can no longer be chosen')
  })

  await t.test('a hold that lapses frees its seats on both screens', async (t) => {
    // No holdSeconds: the app's 4 s hold.
    const show = await createShow(app, { name: 'Lapsing', startTime: later(31), seating: { totalSeats: 12, seatsPerRow: 12 } })
    const ada = await userPage('ada')
    const bob = await userPage('bob')
    await ada.page.goto(`/#/shows/${show.id}`)
    await bob.page.goto(`/#/shows/${show.id}`)
    await seat(ada.page, 'A', 3, 'available').click()
    await ada.page.getByRole('button', { name: 'Hold 1 seat' }).click()
    await ada.page.getByRole('timer').waitFor()
    await seat(bob.page, 'A', 3, 'held').waitFor()

    await ada.page.getByRole('status').filter({ hasText: 'Your hold lapsed' }).waitFor()
    await seat(ada.page, 'A', 3, 'available').waitFor()
    await seat(bob.page, 'A', 3, 'available').waitFor()
    t.pass('the lapse is shown as such, and both maps show the seat free again')
  })

  await t.test('a seat taken between view and click: "already taken", and nothing is held', async (t) => {
    const show = await createShow(app, { name: 'Taken', holdSeconds: 60, startTime: later(32), seating: { totalSeats: 12, seatsPerRow: 12 } })
    const ada = await userPage('ada')
    // Ada's map is stale: her live updates are held up on the way (as on a slow network).
    await ada.page.route('**/seats/events', () => { /* never answered */ })
    await ada.page.goto(`/#/shows/${show.id}`)
    await seat(ada.page, 'A', 7, 'available').click()

    const other = await signUp(app, 'other')
    const taken = await app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: { authorization: other.authorization }, payload: { seatLabels: ['A7'] } })
    t.equal(taken.statusCode, 201, 'someone else holds A7 first')

    await ada.page.getByRole('button', { name: 'Hold 1 seat' }).click()
    const alert = ada.page.getByRole('alert').filter({ hasText: 'already taken' })
    await alert.waitFor()
    t.match(await alert.innerText(), /already taken: A7/, 'the message names the seat')
    t.equal(await ada.page.getByRole('timer').count(), 0, 'nothing is held')
    await seat(ada.page, 'A', 7, 'held').waitFor()
    const mine = json<{ items: unknown[] }>(await app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: await bearerOf(ada.page) } }))
    t.same(mine.items, [], 'Ada has no booking')
  })

  await t.test('sign-up errors are shown, with the field marked', async (t) => {
    const { page } = await open()
    await page.goto('/#/signup')
    const fill = async (name: string, email: string, password: string): Promise<void> => {
      await page.getByLabel('Name').fill(name)
      await page.getByLabel('Email').fill(email)
      await page.getByLabel('Password').fill(password)
      await page.getByRole('button', { name: 'Create account' }).click()
    }

    await fill('Eve', 'eve@example.com', 'short')
    await page.getByRole('alert').filter({ hasText: 'password' }).waitFor()
    t.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true', 'too short: the password is marked invalid')

    await fill('Eve', 'eve@example.com', 'eve@example.com')
    await page.getByRole('alert').filter({ hasText: 'Please choose a stronger password' }).waitFor()
    t.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true', 'a password equal to the email: weak, marked')

    const existing = await signUp(app, 'taken')
    await fill('Eve', existing.email.toUpperCase(), 'a-long-unusual-passphrase')
    await page.getByRole('alert').filter({ hasText: 'already exists' }).waitFor()
    t.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true', 'email taken: the email is marked invalid')

    await fill('Eve', `eve-${Date.now()}@example.com`, 'a-long-unusual-passphrase')
    await page.getByText('Signed in as').waitFor()
    t.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Upcoming shows', 'signed up, then back at the shows')
  })

  await t.test('rate limited: a readable message with the wait, not a blank screen', async (t) => {
    // An instance of its own with the sign-in limit at 2 a minute.
    const strict = await buildTestApp(t, { AUTH_RATE_LIMIT: '2' })
    await strict.listen({ port: 0, host: '127.0.0.1' })
    const { page } = await open()
    await page.goto(`http://127.0.0.1:${(strict.server.address() as AddressInfo).port}/#/signin`)
    const attempt = async (): Promise<void> => {
      await page.getByLabel('Email').fill('nobody@example.com')
      await page.getByLabel('Password').fill('wrong-password')
      await page.getByRole('button', { name: 'Sign in' }).click()
    }
    await attempt()
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor()
    await attempt()
    await attempt()
    const limited = page.getByRole('alert').filter({ hasText: 'Too many requests' })
    await limited.waitFor()
    t.match(await limited.innerText(), /Please wait \d+ s and try again/, 'says how long to wait (Retry-After)')
  })

  await t.test('sessions: refreshed before expiry, a reused refresh token signs out cleanly, sign-out revokes', async (t) => {
    // An instance of its own whose access tokens live 5 s: the page must refresh to stay signed in.
    const short = await buildTestApp(t, { ACCESS_TOKEN_SECONDS: '5' })
    await short.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(short.server.address() as AddressInfo).port}`
    const stored = async (page: Page): Promise<{ token?: string, refreshToken?: string }> =>
      await page.evaluate(() => JSON.parse(localStorage.getItem('modex.session') ?? '{}') as { token?: string, refreshToken?: string })
    const refresh = async (refreshToken: string): Promise<number> =>
      (await short.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } })).statusCode

    const account = await signUp(short, 'sam')
    const { page } = await open()
    await signInThroughUi(page, account.email, PASSWORD, `${base}/#/signin`)
    const first = await stored(page)
    await page.waitForFunction((before) => (JSON.parse(localStorage.getItem('modex.session') ?? '{}') as { refreshToken?: string }).refreshToken !== before, first.refreshToken)
    const second = await stored(page)
    t.not(second.token, first.token, 'a new access token before the old one ran out')
    await page.getByRole('navigation').getByRole('link', { name: 'My bookings', exact: true }).click()
    await page.getByText('No bookings yet.').waitFor()
    t.equal(await page.getByText('Signed in as').count(), 1, 'still signed in, and the API answers as this user')

    // Someone else presents the page's current refresh token first (as a thief would): the
    // page's next refresh is a reuse, the server ends the sign-in, the page says so.
    const current = await stored(page)
    await refresh(current.refreshToken ?? '')
    await page.getByRole('status').filter({ hasText: 'Your session has ended. Please sign in again.' }).waitFor()
    await page.getByRole('link', { name: 'Sign in', exact: true }).first().waitFor()
    t.same(await stored(page), {}, 'signed out: the session is gone from storage')

    // Sign out: the refresh token it held stops working on the server too.
    await signInThroughUi(page, account.email, PASSWORD, `${base}/#/signin`)
    const last = await stored(page)
    const logout = page.waitForResponse((response) => response.url().endsWith('/api/auth/logout'))
    await page.getByRole('button', { name: 'Sign out' }).click()
    t.equal((await logout).status(), 204, 'signing out tells the server')
    await page.getByRole('link', { name: 'Sign in', exact: true }).first().waitFor()
    t.equal(await refresh(last.refreshToken ?? ''), 401, 'after sign-out the refresh token is refused')
  })

  await t.test('the admin creates a show, which appears in the lists; sees its bookings; cancels it', async (t) => {
    const { page } = await open()
    await signInThroughUi(page, ADMIN.email, ADMIN.password)
    await page.getByRole('navigation').getByRole('link', { name: 'Admin', exact: true }).click()
    const form = page.getByRole('form', { name: 'Create a show' })
    await form.getByLabel('Name', { exact: true }).fill('Admin Premiere')
    await form.getByLabel('Type').selectOption('EVENT')
    await form.getByLabel('Venue').fill('Hall 1')
    await form.getByLabel('Total seats').fill('48')
    await form.getByLabel('Seats per row').fill('12')
    await form.getByRole('button', { name: 'Add a category' }).click()
    const category = form.getByRole('group', { name: 'Category 1' })
    await category.getByLabel('Name').fill('premium')
    await category.getByLabel('Price').fill('20')
    await category.getByLabel('Rows').fill('A, B')
    await form.getByRole('button', { name: 'Create show' }).click()

    const list = page.getByRole('list', { name: 'All shows' })
    await list.getByRole('link', { name: 'Admin Premiere' }).waitFor()
    t.pass('the new show is in the admin list')

    await page.getByRole('navigation').getByRole('link', { name: 'Shows', exact: true }).click()
    await page.getByLabel('Type of show').selectOption('EVENT')
    await page.getByRole('list', { name: 'Shows' }).getByRole('link', { name: 'Admin Premiere' }).waitFor()
    t.pass('and in the public list, filtered by its type')

    // A booking for it, then the admin's view of its bookings.
    const shows = json<{ items: Array<{ id: string, name: string }> }>(await app.inject({ method: 'GET', url: '/api/shows?type=EVENT' }))
    const created = shows.items.find((s) => s.name === 'Admin Premiere')
    const buyer = await signUp(app, 'buyer')
    const held = await app.inject({ method: 'POST', url: `/api/shows/${created?.id ?? ''}/bookings`, headers: { authorization: buyer.authorization }, payload: { seatLabels: ['C4'] } })
    t.equal(held.statusCode, 201)
    await page.getByRole('navigation').getByRole('link', { name: 'Admin', exact: true }).click()
    await page.getByRole('button', { name: 'Bookings for Admin Premiere' }).click()
    await page.getByRole('table', { name: 'Bookings for Admin Premiere' }).getByRole('cell', { name: 'C4' }).waitFor()
    t.pass('the admin sees the show\'s bookings')

    await page.getByRole('button', { name: 'Cancel show Admin Premiere' }).click()
    await page.getByRole('button', { name: 'Yes, cancel Admin Premiere' }).click()
    await list.getByRole('listitem').filter({ hasText: 'Admin Premiere' }).getByText('Cancelled').waitFor()
    const after = json<{ status: string, totalSeats: number, categories?: Array<{ name: string, priceCents: number, totalSeats: number }> }>(await app.inject({ method: 'GET', url: `/api/shows/${created?.id ?? ''}` }))
    t.equal(after.status, 'CANCELLED', 'the show is cancelled')
    t.equal(after.totalSeats, 48, 'created with the seats typed in the form')
    t.match(after.categories, [{ name: 'PREMIUM', priceCents: 2000, totalSeats: 24 }], 'created with its category (rows A and B)')
  })

  await t.test('screenshots and accessibility: show page, admin page, phone', async (t) => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    const show = await createShow(app, {
      name: 'Dune: Part Three', venue: 'Screen 2', holdSeconds: 600, priceCents: 1250, startTime: later(48),
      description: 'The saga continues. 155 minutes.',
      seating: { totalSeats: 96, seatsPerRow: 12, rowPreference: ['F', 'G', 'E'] },
      categories: [{ name: 'PREMIUM', priceCents: 1800, rows: ['F', 'G'] }, { name: 'ACCESSIBLE', priceCents: 900, labels: ['H1', 'H2', 'H11', 'H12'] }]
    })
    // Some seats already held and booked by others, for a realistic map.
    const other = await signUp(app, 'crowd')
    const auth = { authorization: other.authorization }
    const booked = json<{ id: string }>(await app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: auth, payload: { seatLabels: ['D5', 'D6', 'D7', 'D8'] } }))
    await app.inject({ method: 'POST', url: `/api/bookings/${booked.id}/confirm`, headers: auth, payload: {} })
    await app.inject({ method: 'POST', url: `/api/shows/${show.id}/bookings`, headers: auth, payload: { seatLabels: ['F3', 'F4'] } })

    const ada = await userPage('ada')
    await ada.page.goto(`/#/shows/${show.id}`)
    await seat(ada.page, 'E', 6, 'available').click()
    await seat(ada.page, 'E', 7, 'available').click()
    t.same(await seriousViolations(ada.page), [], 'show page: no serious accessibility violation')
    await ada.page.getByRole('button', { name: 'Hold 2 seats' }).click()
    await ada.page.getByRole('timer').waitFor()
    t.same(await seriousViolations(ada.page), [], 'show page with a hold: no serious accessibility violation')
    await ada.page.screenshot({ path: `${SCREENSHOTS}show-page.png`, fullPage: true })

    await ada.page.goto('/#/')
    await ada.page.getByRole('list', { name: 'Shows' }).waitFor()
    t.same(await seriousViolations(ada.page), [], 'shows list: no serious accessibility violation')
    await ada.page.getByRole('navigation').getByRole('link', { name: 'My bookings', exact: true }).click()
    await ada.page.getByRole('list', { name: 'Bookings' }).waitFor()
    t.same(await seriousViolations(ada.page), [], 'my bookings: no serious accessibility violation')

    const phone = await open({ width: 390, height: 844 })
    await phone.page.goto(`/#/shows/${show.id}`)
    await seat(phone.page, 'E', 6, 'held').waitFor()
    t.same(await seriousViolations(phone.page), [], 'phone-sized show page: no serious accessibility violation')
    await phone.page.screenshot({ path: `${SCREENSHOTS}show-page-phone.png`, fullPage: true })
    await phone.page.goto('/#/signup')
    await phone.page.getByRole('heading', { name: 'Create an account' }).waitFor()
    t.same(await seriousViolations(phone.page), [], 'sign-up page: no serious accessibility violation')

    const admin = await open()
    await signInThroughUi(admin.page, ADMIN.email, ADMIN.password)
    await admin.page.goto('/#/admin')
    await admin.page.getByRole('list', { name: 'All shows' }).waitFor()
    await admin.page.getByRole('button', { name: 'Bookings for Dune: Part Three' }).click()
    await admin.page.getByRole('table', { name: 'Bookings for Dune: Part Three' }).waitFor()
    t.same(await seriousViolations(admin.page), [], 'admin page: no serious accessibility violation')
    await admin.page.screenshot({ path: `${SCREENSHOTS}admin-page.png`, fullPage: true })
  })

  await t.test('box office: prices by category, best available of a category, extending the hold', async (t) => {
    const show = await createShow(app, {
      name: 'Box office', holdSeconds: 60, startTime: later(35), priceCents: 1250,
      seating: { totalSeats: 36, seatsPerRow: 12, rowPreference: ['B', 'C', 'A'] },
      categories: [{ name: 'PREMIUM', priceCents: 1800, rows: ['B'] }]
    })
    const { page } = await userPage('bea')
    await page.goto(`/#/shows/${show.id}`)
    await page.getByRole('button', { name: /^Row B seat 7, PREMIUM, 18\.00, available$/ }).waitFor()
    await page.getByRole('button', { name: /^Row A seat 7, STANDARD, 12\.50, available$/ }).waitFor()
    t.match(await page.getByRole('list', { name: 'Prices' }).innerText(), /PREMIUM 18\.00/, 'the legend lists the category and its price')

    const best = page.getByRole('form', { name: 'Best available' })
    await best.getByLabel('Seats').selectOption('3')
    await best.getByLabel('Category').selectOption('PREMIUM')
    await best.getByRole('button', { name: 'Find and hold the best seats' }).click()
    await page.getByRole('timer').waitFor()
    const hold = await page.getByRole('complementary', { name: 'Your booking' }).innerText()
    t.match(hold, /B5 · PREMIUM · 18\.00[\s\S]*B6[\s\S]*B7/, 'three adjacent PREMIUM seats in the middle of row B')
    t.match(hold, /Total 54\.00/, 'priced by category')
    await page.getByRole('button', { name: /^Row B seat 6, PREMIUM, 18\.00, held by you$/ }).waitFor()

    await page.getByRole('button', { name: 'Extend hold' }).click()
    await page.getByRole('button', { name: 'Extend hold (extended 1×)' }).waitFor()
    t.pass('the hold is extended')

  })

  await t.test('appointment slots: named seats, held by their label', async (t) => {
    const show = await createShow(app, { name: 'Dr. Okafor', type: 'DOCTOR', holdSeconds: 60, startTime: later(34), seating: { labels: ['09:00', '09:15', '09:30', '09:45'] } })
    const { page } = await userPage('pat')
    await page.goto(`/#/shows/${show.id}`)
    await page.getByRole('button', { name: /^Seat 09:15, STANDARD, 10\.00, available$/ }).click()
    await page.getByRole('button', { name: 'Hold 1 seat' }).click()
    await page.getByRole('timer').waitFor()
    await page.getByRole('button', { name: /^Seat 09:15, STANDARD, 10\.00, held by you$/ }).waitFor()
    t.pass('a slot is a button named by its label, and holds like a seat')

    await page.goto('/#/shows/0123456789abcdef01234567')
    await page.getByRole('heading', { name: 'Show not available' }).waitFor()
    t.match(await page.getByRole('alert').innerText(), /does not exist/, 'an unknown show: a message, not a blank page')
  })

  await t.test('keyboard: the seat map is reachable and usable without a mouse', async (t) => {
    const show = await createShow(app, { name: 'Keyboard', holdSeconds: 60, startTime: later(33), seating: { totalSeats: 24, seatsPerRow: 12 } })
    const { page } = await userPage('kim')
    await page.goto(`/#/shows/${show.id}`)
    await seat(page, 'A', 1, 'available').focus()
    await page.keyboard.press('ArrowRight')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Space')
    t.equal(await seat(page, 'B', 2).getAttribute('aria-pressed'), 'true', 'arrows move along the map, Space chooses the seat')
    await page.getByRole('button', { name: 'Hold 1 seat' }).press('Enter')
    await page.getByRole('timer').waitFor()
    t.pass('Enter on the hold button holds the seat')
  })
}

/** The bearer header of the session a page holds (what the page itself sends). */
async function bearerOf (page: Page): Promise<string> {
  const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('modex.session') ?? '{}') as { token?: string }).token ?? '')
  return `Bearer ${token}`
}
