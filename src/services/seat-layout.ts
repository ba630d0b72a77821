import type { Seating } from '../schemas/show.js'

export interface SeatSpec { label: string, row: string | null, number: number, position: number }

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
    return seating.labels.map((label, i) => ({ label, row: null, number: i + 1, position: i }))
  }
  const perRow = seating.seatsPerRow ?? 10
  return Array.from({ length: seating.totalSeats }, (_, i) => {
    const row = rowName(Math.floor(i / perRow))
    const number = (i % perRow) + 1
    return { label: `${row}${number}`, row, number, position: i }
  })
}
