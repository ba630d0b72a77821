// The wire-level load of `npm run bench:db` (scripts/bench-embedded-mongo.ts): the phases'
// operations as the commands the driver sends for them, and the side-by-side load that takes
// turns on several servers.
import { ObjectId } from 'bson'
import { slot, WireConnection } from './wire-client.js'

/** findOneAndUpdate by `_id` on 1,000 counters, or seat claims on `{ showId, status }` (with resets). */
export type Phase = 'byId' | 'claim'

/** Runs `op` from `callers` concurrent loops until `ms` have passed (the last ones in flight finish); counts completed ops. */
export async function runFor (ms: number, callers: number, op: () => Promise<void>): Promise<number> {
  const end = Date.now() + ms
  let n = 0
  await Promise.all(Array.from({ length: callers }, async () => {
    while (Date.now() < end) {
      await op()
      n++
    }
  }))
  return n
}

/** `callers` wire connections to one server, one per caller (as the driver's pool has). */
export async function openConnections (uri: string, replicaSet: boolean, callers: number): Promise<WireConnection[]> {
  return await Promise.all(Array.from({ length: callers }, async () => await WireConnection.open(uri, replicaSet)))
}

/**
 * The phase's operation through the wire-level client: the commands the driver sends for it
 * (findAndModify as a retryable write; updateMany, which is not one, without a txnNumber), over
 * `connections` (one per caller, as the driver's pool has): each operation takes a free one and
 * gives it back.
 */
export function wireOp (connections: WireConnection[], phase: Phase, showIds: ObjectId[], counts: { resets: number }): () => Promise<void> {
  const free = [...connections]
  const withConnection = async <T>(fn: (c: WireConnection) => Promise<T>): Promise<T> => {
    const c = free.pop() as WireConnection
    try { return await fn(c) } finally { free.push(c) }
  }
  if (phase === 'byId') {
    const command = { findAndModify: 'counters', query: { _id: slot('int32') }, remove: false, new: true, upsert: false, update: { $inc: { n: 1 } } }
    return async () => await withConnection(async (c) => {
      await c.command('byId', 'bench', command, [Math.floor(Math.random() * 1000)], true)
    })
  }
  const claim = {
    findAndModify: 'seats', query: { showId: slot('objectId'), status: 'AVAILABLE' }, remove: false, new: false, upsert: false,
    update: { $set: { status: 'HELD', bookingId: slot('objectId'), heldUntil: slot('date') } }
  }
  const reset = { update: 'seats', updates: [{ q: { showId: slot('objectId'), status: 'HELD' }, u: { $set: { status: 'AVAILABLE', bookingId: null, heldUntil: null } }, multi: true }], ordered: true }
  return async () => await withConnection(async (c) => {
    const showId = showIds[Math.floor(Math.random() * showIds.length)]
    const reply = await c.command('claim', 'bench', claim, [showId, new ObjectId(), new Date(Date.now() + 60_000)], true)
    if (reply.valueIsNull) {
      counts.resets++
      await c.command('reset', 'bench', reset, [showId])
    }
  })
}

/** A server the interleaved load takes turns on. */
export interface Target { uri: string, replicaSet: boolean, showIds: string[] }
export interface SliceResult { n: number, secs: number, resets: number }

/**
 * The wire-level load on several servers in turn: `slices` rounds, each giving every server
 * `sliceMs` of `callers` concurrent operations (then waiting for the last ones in flight), in
 * the same order every round. The servers run at once on the same machine, so a change in the
 * machine's speed (other load, the host's) reaches them all alike; run one after the other,
 * their ratio moved by a third between minutes here. The first round is a warm-up; `onMeasuring`
 * is called (and awaited) when it ends, between slices (no operation in flight).
 */
export async function runInterleaved (targets: Target[], phase: Phase, callers: number, sliceMs: number, slices: number, onMeasuring?: () => void | Promise<void>): Promise<SliceResult[]> {
  const loads = await Promise.all(targets.map(async (t) => {
    const connections = await openConnections(t.uri, t.replicaSet, callers)
    const counts = { resets: 0 }
    return { connections, counts, op: wireOp(connections, phase, t.showIds.map((id) => new ObjectId(id)), counts), n: 0, secs: 0 }
  }))
  for (let round = 0; round <= slices; round++) {
    if (round === 1) {
      for (const l of loads) l.counts.resets = 0
      await onMeasuring?.()
    }
    for (const l of loads) {
      const t0 = process.hrtime.bigint()
      const n = await runFor(sliceMs, callers, l.op)
      if (round === 0) continue
      l.n += n
      l.secs += Number(process.hrtime.bigint() - t0) / 1e9
    }
  }
  for (const l of loads) for (const c of l.connections) c.close()
  return loads.map((l) => ({ n: l.n, secs: l.secs, resets: l.counts.resets }))
}

