import type { CategorySpec, Seating } from '../schemas/show.js'
import { STANDARD_CATEGORY } from '../models/show.js'
import { badRequest } from '../errors.js'

export interface SeatSpec { label: string, row: string | null, number: number, position: number }
export interface PricedSeatSpec extends SeatSpec { category: string, priceCents: number }

/** Row names in spreadsheet order: A … Z, then AA, AB, … AZ, BA, … (bijective base 26). */
function rowName (index: number): string {
  let name = ''
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name
  }
  return name
}

/** The seats a show's seating describes, in map order. */
export function layoutSeats (seating: Seating): SeatSpec[] {
  if ('labels' in seating) {
    // Text that is not well-formed UTF-16 (a lone surrogate) is stored as U+FFFD, so two labels
    // the schema's uniqueItems sees as different could become the same label at the database.
    const malformed = seating.labels.filter((l) => LONE_SURROGATE.test(l))
    if (malformed.length > 0) throw invalid('body/seating/labels', 'must be well-formed Unicode text (no lone surrogate code units)', malformed.map((l) => JSON.stringify(l)))
    return seating.labels.map((label, i) => ({ label, row: null, number: i + 1, position: i }))
  }
  const perRow = seating.seatsPerRow ?? 10
  return Array.from({ length: seating.totalSeats }, (_, i) => {
    const row = rowName(Math.floor(i / perRow))
    const number = (i % perRow) + 1
    return { label: `${row}${number}`, row, number, position: i }
  })
}

/** A UTF-16 code unit of a surrogate pair standing alone (in `u` mode, pairs are one code point). */
const LONE_SURROGATE = /\p{Cs}/u

const invalid = (field: string, message: string, values?: string[]) =>
  badRequest('VALIDATION_ERROR', `${field} ${message}`, { field, ...(values !== undefined && { values }) })

/** The show's rowPreference, checked against its rows (unknown rows are a 400 naming them). */
export function checkRowPreference (seats: SeatSpec[], seating: Seating): string[] | undefined {
  if ('labels' in seating || seating.rowPreference === undefined) return undefined
  const rows = new Set(seats.map((s) => s.row))
  const unknown = seating.rowPreference.filter((r) => !rows.has(r))
  if (unknown.length > 0) throw invalid('body/seating/rowPreference', `names rows the seating does not have: ${unknown.join(', ')}`, unknown)
  return seating.rowPreference
}

/**
 * Each seat's category and price: the first category naming it (by row or label), else STANDARD
 * at the show's price. Rows or labels not in the seating, a category naming both or neither,
 * and duplicate names are a 400 naming them. Returns the show's categories as sold.
 */
export function priceSeats (seats: SeatSpec[], categories: CategorySpec[], showPriceCents: number): { seats: PricedSeatSpec[], categories: Array<{ name: string, priceCents: number }> } {
  const rows = new Set(seats.map((s) => s.row).filter((r) => r !== null))
  const labels = new Set(seats.map((s) => s.label))
  const labelSeated = rows.size === 0
  const seen = new Set<string>()
  categories.forEach((c, i) => {
    const field = `body/categories/${i}`
    if (c.name === STANDARD_CATEGORY) throw invalid(`${field}/name`, `must not be ${STANDARD_CATEGORY}: it is the category of seats no category names`)
    if (seen.has(c.name)) throw invalid(`${field}/name`, `duplicates the category name ${c.name}`, [c.name])
    seen.add(c.name)
    if ((c.rows === undefined) === (c.labels === undefined)) throw invalid(field, 'must have exactly one of rows or labels')
    if (c.rows !== undefined && labelSeated) throw invalid(`${field}/rows`, 'is for generated seating; a label-seated show names seats by labels')
    const unknown = c.rows !== undefined ? c.rows.filter((r) => !rows.has(r)) : (c.labels ?? []).filter((l) => !labels.has(l))
    if (unknown.length > 0) throw invalid(`${field}/${c.rows !== undefined ? 'rows' : 'labels'}`, `names ${c.rows !== undefined ? 'rows' : 'seats'} the seating does not have: ${unknown.join(', ')}`, unknown)
  })
  const byRow = new Map<string, CategorySpec>()
  const byLabel = new Map<string, CategorySpec>()
  // The first category naming a seat wins: later ones do not overwrite.
  for (const c of categories) {
    for (const r of c.rows ?? []) if (!byRow.has(r)) byRow.set(r, c)
    for (const l of c.labels ?? []) if (!byLabel.has(l)) byLabel.set(l, c)
  }
  const order = new Map(categories.map((c, i) => [c, i]))
  const priced = seats.map((s) => {
    const candidates = [s.row !== null ? byRow.get(s.row) : undefined, byLabel.get(s.label)].filter((c) => c !== undefined)
    const category = candidates.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0))[0]
    return { ...s, category: category?.name ?? STANDARD_CATEGORY, priceCents: category?.priceCents ?? showPriceCents }
  })
  const sold = categories.map((c) => ({ name: c.name, priceCents: c.priceCents }))
  if (priced.some((s) => s.category === STANDARD_CATEGORY)) sold.push({ name: STANDARD_CATEGORY, priceCents: showPriceCents })
  return { seats: priced, categories: sold }
}
