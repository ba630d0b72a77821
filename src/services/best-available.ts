/**
 * Best available: which seats to offer for `{ quantity, category?, adjacent? }` (API.md), chosen
 * from one read of a seat map. A pure function of the map, so each rule is tested on hand-made
 * maps; claiming the chosen seats is the booking protocol's business (a choice is not a lock).
 *
 * - Adjacent: `quantity` consecutive seats of one row (consecutive positions when the show is
 *   seated by labels). Rows are tried in `rowPreference` order, then the rest in seat order;
 *   within a row the block nearest the row's middle wins (label-seated shows: the earliest
 *   position, since slots and berths have no middle). A block that would leave one free seat
 *   stranded (between taken seats, or a taken seat and the row's end) is taken only when no
 *   block anywhere avoids it.
 * - Not adjacent: the best `quantity` free seats by the same order, anywhere.
 */

export interface ChoiceSeat {
  id: string
  row: string | null
  number: number
  category: string
  status: 'AVAILABLE' | 'HELD' | 'BOOKED'
}

export interface ChoiceRequest {
  quantity: number
  /** Only seats of this category; any category when absent. */
  category?: string
  adjacent: boolean
  /** Rows first tried, in this order (generated seating). */
  rowPreference?: readonly string[]
  /** Seats to treat as taken: chosen by requests still claiming on this instance, or lost in a race since the map was read. */
  exclude?: { has: (seatId: string) => boolean }
  /**
   * Choose at random among the best `spread` non-overlapping blocks (default 1: the best). A
   * request choosing again after a lost race spreads, so requests on several instances, each
   * reading the same map, stop colliding on the same block.
   */
  spread?: number
  /** Random numbers in [0, 1) for `spread` (tests pass their own). */
  random?: () => number
}

export interface Choice {
  /** The chosen seat ids, in seat order; null when no suitable seats are free. */
  seatIds: string[] | null
  /** How many seats of the kind asked for (category) are free: `details.available` of a 409. */
  available: number
}

interface Group { seats: ChoiceSeat[], middle: number | null }

/**
 * The groups of a seat array, kept per array: the seat-map cache hands out the same array (its
 * seats' statuses patched in place) until it reads the map again, so rows are split once per read.
 */
const groupCache = new WeakMap<readonly ChoiceSeat[], { preference: string, groups: Group[] }>()

function groupsOf (seats: readonly ChoiceSeat[], rowPreference: readonly string[]): Group[] {
  const preference = rowPreference.join('\u0000')
  const known = groupCache.get(seats)
  if (known !== undefined && known.preference === preference) return known.groups
  const groups = groupsInPreferenceOrder(seats, rowPreference)
  groupCache.set(seats, { preference, groups })
  return groups
}

/** The seats (in seat order) split into the groups a block must stay inside, best group first. */
function groupsInPreferenceOrder (seats: readonly ChoiceSeat[], rowPreference: readonly string[]): Group[] {
  // Label-seated shows: one line of positions, earliest first.
  if (seats.length > 0 && seats[0].row === null) return [{ seats: [...seats], middle: null }]
  const rows = new Map<string, ChoiceSeat[]>()
  for (const seat of seats) {
    const key = seat.row ?? ''
    const row = rows.get(key)
    if (row === undefined) rows.set(key, [seat])
    else row.push(seat)
  }
  const preferred = rowPreference.filter((r) => rows.has(r))
  const rest = [...rows.keys()].filter((r) => !rowPreference.includes(r))
  return [...preferred, ...rest].map((r) => {
    const row = rows.get(r) ?? []
    return { seats: row, middle: (row[0].number + row[row.length - 1].number) / 2 }
  })
}

/** Within a group, the seats' order of merit: nearest the middle, then seat order. */
function byMerit (group: Group): ChoiceSeat[] {
  if (group.middle === null) return group.seats
  const middle = group.middle
  return group.seats.map((seat, i) => ({ seat, i })).sort((a, b) => Math.abs(a.seat.number - middle) - Math.abs(b.seat.number - middle) || a.i - b.i).map((x) => x.seat)
}

interface Block { start: number, strands: boolean, distance: number }

/** Every block of `quantity` consecutive suitable seats in the group, with whether it strands a single free seat. */
function blocksOf (group: Group, quantity: number, suitable: (s: ChoiceSeat) => boolean, free: (s: ChoiceSeat) => boolean): Block[] {
  const seats = group.seats
  const blocks: Block[] = []
  const consecutive = (i: number): boolean => seats[i].number === seats[i - 1].number + 1
  for (let start = 0; start + quantity <= seats.length; start++) {
    let fits = true
    for (let i = start; i < start + quantity; i++) {
      if (!suitable(seats[i]) || (i > start && !consecutive(i))) { fits = false; break }
    }
    if (!fits) continue
    const end = start + quantity - 1
    // A stranded seat: exactly one free seat between the block and a taken seat or the row's end.
    const leftAlone = start >= 1 && free(seats[start - 1]) && consecutive(start) && (start < 2 || !free(seats[start - 2]) || !consecutive(start - 1))
    const rightAlone = end + 1 < seats.length && free(seats[end + 1]) && consecutive(end + 1) && (end + 2 >= seats.length || !free(seats[end + 2]) || !consecutive(end + 2))
    const centre = (seats[start].number + seats[end].number) / 2
    blocks.push({ start, strands: leftAlone || rightAlone, distance: group.middle === null ? 0 : Math.abs(centre - group.middle) })
  }
  return blocks
}

export function chooseBestAvailable (seats: readonly ChoiceSeat[], request: ChoiceRequest): Choice {
  const exclude = request.exclude
  const free = (s: ChoiceSeat): boolean => s.status === 'AVAILABLE' && exclude?.has(s.id) !== true
  const ofKind = (s: ChoiceSeat): boolean => request.category === undefined || s.category === request.category
  const suitable = (s: ChoiceSeat): boolean => free(s) && ofKind(s)
  let available = 0
  for (const s of seats) if (s.status === 'AVAILABLE' && ofKind(s)) available++
  const spread = Math.max(1, request.spread ?? 1)
  const random = request.random ?? Math.random
  if (available < request.quantity) return { seatIds: null, available }
  const groups = groupsOf(seats, request.rowPreference ?? [])

  if (!request.adjacent) {
    // The best quantity × spread free seats, of which `quantity` at random (all of them when spread is 1).
    const best = groups.flatMap((g) => byMerit(g).filter(suitable)).slice(0, request.quantity * spread)
    if (best.length < request.quantity) return { seatIds: null, available }
    for (let i = 0; i < request.quantity; i++) {
      const j = i + Math.floor(random() * (best.length - i))
      const picked = best[j]
      best[j] = best[i]
      best[i] = picked
    }
    return { seatIds: inSeatOrder(seats, best.slice(0, request.quantity)), available }
  }

  // Clean blocks (stranding no single seat) in order of merit, then, only if there is none, the stranding ones.
  const ranked = (clean: boolean): Array<{ group: Group, block: Block }> => {
    const found: Array<{ group: Group, block: Block }> = []
    for (const group of groups) {
      // Nearest the middle first; among equals, the earlier seats (the sort is stable).
      const blocks = blocksOf(group, request.quantity, suitable, free).filter((b) => b.strands !== clean).sort((a, b) => a.distance - b.distance)
      for (const block of blocks) {
        // Only blocks that share no seat with one already taken: overlapping ones collide all the same.
        if (found.some((f) => f.group === group && Math.abs(f.block.start - block.start) < request.quantity)) continue
        found.push({ group, block })
        if (found.length >= spread) return found
      }
    }
    return found
  }
  let candidates = ranked(true)
  if (candidates.length === 0) candidates = ranked(false)
  if (candidates.length === 0) return { seatIds: null, available }
  const { group, block } = candidates[Math.floor(random() * candidates.length)]
  return { seatIds: group.seats.slice(block.start, block.start + request.quantity).map((s) => s.id), available }
}

function inSeatOrder (seats: readonly ChoiceSeat[], chosen: ChoiceSeat[]): string[] {
  const ids = new Set(chosen.map((s) => s.id))
  return seats.filter((s) => ids.has(s.id)).map((s) => s.id)
}
