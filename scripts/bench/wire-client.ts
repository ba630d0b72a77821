// A MongoDB client that costs next to nothing per command, for `npm run bench:db`'s measure of
// the embedded server's own throughput. The official driver spends 80–350 µs of CPU per command
// (more in replica-set mode: sessions, retryable-write numbers, cluster-time gossip); with the
// clients and the server on the same two cores, the driver, not the server, then decides the
// figure. This is to the driver what a load generator is to a browser: it sends what the driver
// sends in each mode (`lsid` always; in a replica set `txnNumber` on a retryable write and the
// newest `$clusterTime` seen on every command), one command at a time per connection, like the
// driver's pool. Each command is encoded once and sent again with its varying values written
// into the bytes; a reply is read only for what the caller needs (`ok`, whether `value` is null,
// `operationTime`), with bson's element scanner. No library does this (the driver is the
// library), hence written here.
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { Binary, BSON, Long, ObjectId, serialize, Timestamp, type Document } from 'bson'
import { FrameReader, OP_MSG } from '../../src/embedded-mongo/wire.js'

const SIGNATURE = { hash: new Binary(Buffer.alloc(20)), keyId: Long.ZERO }
let nextRequestId = 1

/** A value that varies between sends of one command. */
type SlotKind = 'int32' | 'objectId' | 'date'
export class Slot {
  constructor (readonly kind: SlotKind) {}
}
export const slot = (kind: SlotKind): Slot => new Slot(kind)
type SlotValue = number | ObjectId | Date

// Placeholder values, distinct per slot, whose bytes are then looked for in the encoded command.
const placeholder = (kind: SlotKind | 'long' | 'timestamp', n: number): { value: unknown, bytes: Buffer } => {
  const tag = 0x5a5a00 + n
  switch (kind) {
    case 'int32': { const b = Buffer.alloc(4); b.writeInt32LE(0x7a000000 + tag); return { value: 0x7a000000 + tag, bytes: b } }
    case 'objectId': { const b = Buffer.alloc(12, 0x5b); b.writeUInt32LE(tag, 8); return { value: new ObjectId(b), bytes: b } }
    case 'date': { const ms = 4_000_000_000_000 + tag; const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(ms)); return { value: new Date(ms), bytes: b } }
    case 'long': { const b = Buffer.alloc(8); b.writeUInt32LE(tag, 0); b.writeUInt32LE(0x7a5a5a5a, 4); return { value: new Long(tag, 0x7a5a5a5a), bytes: b } }
    case 'timestamp': { const b = Buffer.alloc(8); b.writeUInt32LE(tag, 0); b.writeUInt32LE(0x7b5a5a5a, 4); return { value: new Timestamp({ i: tag, t: 0x7b5a5a5a }), bytes: b } }
  }
}

/** One command as OP_MSG bytes, and where its varying values go. */
class Template {
  readonly bytes: Buffer
  readonly slots: Array<{ kind: SlotKind, at: number }> = []
  txnAt = -1
  clusterTimeAt = -1

  constructor (db: string, body: Document, lsid: Document, replicaSet: boolean, retryable: boolean) {
    let n = 0
    const wanted: Array<{ kind: SlotKind | 'long' | 'timestamp', bytes: Buffer }> = []
    const fill = (v: unknown): unknown => {
      if (v instanceof Slot) {
        const p = placeholder(v.kind, n++)
        wanted.push({ kind: v.kind, bytes: p.bytes })
        return p.value
      }
      if (Array.isArray(v)) return v.map(fill)
      if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
      return v
    }
    const full = fill(body) as Document
    full.lsid = lsid
    let txn: Buffer | undefined
    let time: Buffer | undefined
    if (replicaSet) {
      if (retryable) { const p = placeholder('long', n++); full.txnNumber = p.value; txn = p.bytes }
      const p = placeholder('timestamp', n++)
      full.$clusterTime = { clusterTime: p.value, signature: SIGNATURE }
      time = p.bytes
    }
    full.$db = db
    const doc = serialize(full)
    this.bytes = Buffer.alloc(21 + doc.length)
    this.bytes.writeInt32LE(this.bytes.length, 0)
    this.bytes.writeInt32LE(OP_MSG, 12)
    this.bytes.set(doc, 21)
    const find = (bytes: Buffer): number => {
      const at = this.bytes.indexOf(bytes)
      if (at < 0 || this.bytes.indexOf(bytes, at + 1) >= 0) throw new Error('template: a placeholder is not found exactly once')
      return at
    }
    for (const w of wanted) this.slots.push({ kind: w.kind as SlotKind, at: find(w.bytes) })
    if (txn !== undefined) this.txnAt = find(txn)
    if (time !== undefined) this.clusterTimeAt = find(time)
  }
}

/** What a caller learns from a reply. */
export interface Reply { ok: boolean, valueIsNull: boolean, errmsg?: string }

export class WireConnection {
  private readonly reader = new FrameReader()
  private pending: { resolve: (reply: Reply) => void, reject: (error: Error) => void } | undefined
  private readonly lsid = { id: new Binary(randomBytes(16), Binary.SUBTYPE_UUID) }
  private txnNumber = 0
  /** The newest `operationTime` a reply carried, as its 8 BSON bytes (increment, then seconds): gossiped back as `$clusterTime`. */
  private readonly clusterTime = Buffer.alloc(8)
  private readonly templates = new Map<string, Template>()

  private constructor (private readonly socket: net.Socket, private readonly replicaSet: boolean) {
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      const frames = this.reader.push(chunk)
      if (frames === undefined) { this.fail(new Error('bad frame from the server')); return }
      for (const frame of frames) this.receive(frame)
    })
    socket.on('error', (error) => { this.fail(error) })
    socket.on('close', () => { this.fail(new Error('connection closed')) })
  }

  /** Connects to `mongodb://host:port`; `replicaSet` says which mode's commands to send. */
  static async open (uri: string, replicaSet: boolean): Promise<WireConnection> {
    const { hostname, port } = new URL(uri)
    const socket = net.connect(Number(port), hostname)
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
    const c = new WireConnection(socket, replicaSet)
    // The driver's handshake (no session, no cluster time yet), which gives a replica set's first cluster time.
    const hello = serialize({ hello: 1, $db: 'admin' })
    const msg = Buffer.alloc(21 + hello.length)
    msg.writeInt32LE(msg.length, 0)
    msg.writeInt32LE(nextRequestId++ & 0x7fffffff, 4)
    msg.writeInt32LE(OP_MSG, 12)
    msg.set(hello, 21)
    await c.send(msg)
    return c
  }

  /**
   * Runs the command `body` (encoded once under `name`; `slot(kind)` marks values that vary,
   * given in `values` in the order they appear). `retryable` marks a retryable write: a replica
   * set's gets a txnNumber. Rejects on a reply with ok: 0.
   */
  async command (name: string, db: string, body: Document, values: SlotValue[], retryable = false): Promise<Reply> {
    return await this.send(this.encode(name, db, body, values, retryable))
  }

  private async send (msg: Buffer): Promise<Reply> {
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject }
      this.socket.write(msg)
    })
    if (!reply.ok) throw new Error(`command failed: ${reply.errmsg ?? '?'}`)
    return reply
  }

  /** The OP_MSG `command` sends for these arguments (it takes the next txnNumber of a retryable write). */
  encode (name: string, db: string, body: Document, values: SlotValue[], retryable = false): Buffer {
    let t = this.templates.get(name)
    if (t === undefined) {
      t = new Template(db, body, this.lsid, this.replicaSet, retryable)
      this.templates.set(name, t)
    }
    const msg = Buffer.from(t.bytes) // a copy: the socket may still hold the last one
    msg.writeInt32LE(nextRequestId++ & 0x7fffffff, 4)
    t.slots.forEach((s, i) => {
      const v = values[i]
      if (s.kind === 'int32') msg.writeInt32LE(v as number, s.at)
      else if (s.kind === 'objectId') msg.set((v as ObjectId).id, s.at)
      else msg.writeBigInt64LE(BigInt((v as Date).getTime()), s.at)
    })
    if (t.txnAt >= 0) {
      this.txnNumber++
      msg.writeUInt32LE(this.txnNumber, t.txnAt)
      msg.writeUInt32LE(0, t.txnAt + 4)
    }
    if (t.clusterTimeAt >= 0) this.clusterTime.copy(msg, t.clusterTimeAt)
    return msg
  }

  close (): void {
    this.socket.destroy()
  }

  private receive (frame: Buffer): void {
    // OP_MSG: header (16), flags (4), section kind 0 (1), then the reply document.
    let ok = false
    let valueIsNull = false
    for (const [type, nameOffset, nameLength, offset] of BSON.onDemand.parseToElements(frame, 21)) {
      const name = frame.toString('latin1', nameOffset, nameOffset + nameLength)
      if (name === 'ok') ok = type === 1 ? frame.readDoubleLE(offset) === 1 : type === 16 ? frame.readInt32LE(offset) === 1 : false
      else if (name === 'value') valueIsNull = type === 10
      else if (name === 'operationTime' && type === 17) {
        // Timestamps compare by seconds (high word), then increment.
        const secs = frame.readUInt32LE(offset + 4)
        const inc = frame.readUInt32LE(offset)
        const mySecs = this.clusterTime.readUInt32LE(4)
        if (secs > mySecs || (secs === mySecs && inc > this.clusterTime.readUInt32LE(0))) frame.copy(this.clusterTime, 0, offset, offset + 8)
      }
    }
    const errmsg = ok ? undefined : String((BSON.deserialize(frame.subarray(21)) as Document).errmsg)
    const p = this.pending
    this.pending = undefined
    p?.resolve({ ok, valueIsNull, errmsg })
  }

  private fail (error: Error): void {
    const p = this.pending
    this.pending = undefined
    p?.reject(error)
  }
}
