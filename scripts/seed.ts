// Seeds a running Modex through its own API: a few movies and shows of every type.
//   npm run seed -- [--url http://localhost:3000]
// Idempotent: a movie whose title exists, or a show with the same name and start time, is
// kept, not created again, so running it twice seeds once.
// Signs in as the admin the service was started with (ADMIN_EMAIL / ADMIN_PASSWORD, read
// from the environment here too). Going through HTTP works for any deployment, including
// `npm start` on its in-process embedded database.
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { url: { type: 'string', default: process.env.MODEX_URL ?? 'http://localhost:3000' } } })
const base = values.url.replace(/\/$/, '')
const email = process.env.ADMIN_EMAIL
const password = process.env.ADMIN_PASSWORD
if (email === undefined || password === undefined) {
  console.error('seed: set ADMIN_EMAIL and ADMIN_PASSWORD (the admin the service was started with)')
  process.exit(1)
}

async function call<T> (method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`)
  return (res.status === 204 ? undefined : JSON.parse(text)) as T
}

const days = (n: number, hour = 18, minute = 30): string => {
  const d = new Date(Date.now() + n * 86_400_000)
  d.setUTCHours(hour, minute, 0, 0)
  return d.toISOString()
}
const slots = (from: number, to: number, every: number): string[] => {
  const labels: string[] = []
  for (let m = from * 60; m < to * 60; m += every) labels.push(`${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`)
  return labels
}

/** Every item of a list endpoint (it pages by at most 100). */
async function listAll<T> (path: string, token?: string): Promise<T[]> {
  const items: T[] = []
  for (let offset = 0; ; offset += 100) {
    const page = await call<{ items: T[], total: number }>('GET', `${path}${path.includes('?') ? '&' : '?'}limit=100&offset=${offset}`, undefined, token)
    items.push(...page.items)
    if (page.items.length === 0 || items.length >= page.total) return items
  }
}

// A session (API.md § Auth): the access token lasts ACCESS_TOKEN_SECONDS (15 min by default), far
// longer than seeding takes; the refresh token is only used to sign out at the end.
const { token, refreshToken } = await call<{ token: string, expiresAt: string, refreshToken: string, refreshExpiresAt: string }>('POST', '/api/auth/login', { email, password })
const existingMovies = new Map((await listAll<{ id: string, title: string }>('/api/movies')).map((m) => [m.title, m.id]))
const existingShows = new Set((await listAll<{ name: string, startTime: string }>('/api/admin/shows', token)).map((s) => `${s.name}@${Date.parse(s.startTime)}`))
const movies = [
  { title: 'Dune: Part Three', description: 'The desert planet, once more.', durationMinutes: 155 },
  { title: 'The Long Night Bus', description: 'A quiet road movie.', durationMinutes: 98 },
  { title: 'Paper Moons', description: 'An animated fable.', durationMinutes: 87 }
]
const movieIds: string[] = []
let created = 0
for (const movie of movies) {
  const existing = existingMovies.get(movie.title)
  if (existing === undefined) created++
  movieIds.push(existing ?? (await call<{ id: string }>('POST', '/api/admin/movies', movie, token)).id)
}

const shows = [
  { name: 'Dune: Part Three — evening', type: 'MOVIE', venue: 'Screen 2', movieId: movieIds[0], durationMinutes: 155, priceCents: 1250, startTime: days(1), seating: { totalSeats: 120, seatsPerRow: 12 } },
  { name: 'Dune: Part Three — IMAX', type: 'MOVIE', venue: 'IMAX', movieId: movieIds[0], durationMinutes: 155, priceCents: 1890, startTime: days(2, 20, 0), seating: { totalSeats: 300, seatsPerRow: 20 } },
  { name: 'Paper Moons — matinee', type: 'MOVIE', venue: 'Screen 1', movieId: movieIds[2], durationMinutes: 87, priceCents: 800, startTime: days(1, 14, 0), seating: { totalSeats: 60, seatsPerRow: 10 } },
  { name: 'Night coach Berlin → Prague', type: 'BUS', venue: 'ZOB bay 4', priceCents: 2900, startTime: days(3, 22, 15), holdSeconds: 300, seating: { labels: [...Array.from({ length: 18 }, (_, i) => `L${i + 1}`), ...Array.from({ length: 18 }, (_, i) => `U${i + 1}`)] } },
  { name: 'Dr. Okafor — general practice', type: 'DOCTOR', venue: 'Room 12', priceCents: 0, startTime: days(1, 8, 0), holdSeconds: 600, seating: { labels: slots(9, 17, 15) } },
  { name: 'Jazz at the Harbour', type: 'EVENT', venue: 'Pier 3', priceCents: 3500, startTime: days(7, 19, 0), description: 'Standing and seated.', seating: { totalSeats: 800, seatsPerRow: 40 } }
]
let seats = 0
let newShows = 0
for (const [i, show] of shows.entries()) {
  if (existingShows.has(`${show.name}@${Date.parse(show.startTime)}`)) continue
  const made = await call<{ totalSeats: number }>('POST', '/api/admin/shows', show, token)
  seats += made.totalSeats
  newShows++
  process.stdout.write(`\rseeding: ${i + 1}/${shows.length} shows, ${seats} seats`)
}
await call<undefined>('POST', '/api/auth/logout', { refreshToken })
process.stdout.write(`${newShows > 0 ? '\n' : ''}seeded ${created} new movies (of ${movies.length}) and ${newShows} new shows (of ${shows.length}, ${seats} seats) at ${base}; the rest already existed\n`)
