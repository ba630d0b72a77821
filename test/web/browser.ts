// A real headless Chromium (Debian's `chromium` package, /usr/bin/chromium) driven by
// playwright-core against the real app listening on a port. Pages are driven by role and
// accessible name, the way a screen-reader user finds things.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

/** Headless, on a fresh profile: playwright's launch() gives each browser a new temporary user-data-dir. */
export async function launchBrowser (): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 })
}

export interface UserPage {
  context: BrowserContext
  page: Page
  /** Content-Security-Policy violations and uncaught errors the page reported. */
  problems: string[]
}

/** A browser context of its own (own storage: a separate user) with one page. */
export async function openPage (browser: Browser, baseURL: string, viewport = { width: 1280, height: 900 }): Promise<UserPage> {
  const context = await browser.newContext({ baseURL, viewport, reducedMotion: 'reduce' })
  context.setDefaultTimeout(15_000)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`CSP: ${message.text()}`)
  })
  return { context, page, problems }
}

export async function signInThroughUi (page: Page, email: string, password: string, url = '/#/signin'): Promise<void> {
  await page.goto(url)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByText('Signed in as').waitFor()
}

/** A seat button by its accessible name, e.g. seat(page, 'A', 5, 'held'). */
export function seat (page: Page, row: string, number: number, state?: string): ReturnType<Page['getByRole']> {
  const name = new RegExp(`^Row ${row} seat ${number}, [A-Z0-9_]+, \\d+\\.\\d\\d, ${state ?? '[a-z ]+'}$`)
  return page.getByRole('button', { name })
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeViolation { id: string, impact: string | null, help: string, nodes: Array<{ target: unknown }> }

/** axe-core run in the page (WCAG 2.x A/AA rules); the violations of serious or critical impact. */
export async function seriousViolations (page: Page): Promise<AxeViolation[]> {
  // Evaluated over the DevTools protocol, which the page's CSP does not govern (the page itself
  // may run no inline script).
  await page.evaluate(axeSource)
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (context: Document, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }))
  })
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}
