// MongoDB wire protocol framing: https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
// Only what a modern driver sends: OP_QUERY on `<db>.$cmd` for the very first handshake (answered
// with OP_REPLY) and OP_MSG for everything else.
import { deserialize, serialize, type Document } from 'bson'
import { CLUSTER_TIME, STAMP_SIZE, writeClusterTime, type Stamped } from './replication.js'
import { normalize } from './values.js'

export const OP_REPLY = 1
export const OP_QUERY = 2004
export const OP_COMPRESSED = 2012
export const OP_MSG = 2013

const FLAG_CHECKSUM = 1
const FLAG_MORE_TO_COME = 2
const FLAG_EXHAUST_ALLOWED = 1 << 16

/** The largest message either side may send (hello's maxMessageSizeBytes). */
export const MAX_MESSAGE = 48000000
/** The largest document (hello's maxBsonObjectSize). */
export const MAX_BSON = 16 * 1024 * 1024

/**
 * Reassembles frames from a TCP stream: a frame may be split across chunks, and one chunk
 * may hold several frames. A length outside 16..MAX_MESSAGE means a broken or hostile peer.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0)

  /** The complete frames this chunk finishes, or undefined if a frame's length is invalid. */
  push(chunk: Buffer): Buffer[] | undefined {
    let pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const frames: Buffer[] = []
    while (pending.length >= 16) {
      const len = pending.readInt32LE(0)
      if (len < 16 || len > MAX_MESSAGE) return undefined
      if (pending.length < len) break
      frames.push(pending.subarray(0, len))
      pending = pending.subarray(len)
    }
    // Copy a leftover partial frame so the (possibly large) chunk it came from can be released.
    this.pending = pending.length > 0 && pending.byteOffset !== 0 ? Buffer.from(pending) : pending
    return frames
  }
}

export interface Header { length: number; requestId: number; responseTo: number; opCode: number }

export interface Command { db: string; body: Document; moreToCome: boolean; legacy: boolean; exhaustAllowed?: boolean }

const DESER = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: false } as const

function readDoc(buf: Buffer, offset: number): { doc: Document; end: number } {
  const size = buf.readInt32LE(offset)
  const doc = deserialize(buf.subarray(offset, offset + size), DESER)
  return { doc: normalize(doc) as Document, end: offset + size }
}

// A replica set's clients send `$clusterTime` (with its signature) on every command. Without
// authentication the server has nothing to check it against and never reads it, so the command
// body is decoded without it: it is cut out of the message in place (the message buffer is the
// server's own), which saves decoding a nested document, a Binary and two 64-bit values per command.
const CLUSTER_TIME_ELEMENT = Buffer.from('\x03$clusterTime\x00', 'latin1')

/** Removes a top-level `$clusterTime` element from the document at `offset`; returns its new size. */
function dropClusterTime(buf: Buffer, offset: number, size: number): number {
  const end = offset + size - 1 // the document's terminating 0
  // Walk the top-level elements (the bytes may also occur inside a value, which is data).
  let p = offset + 4
  while (p < end) {
    if (buf[p] === 0x03 && buf[p + 1] === 0x24 && isClusterTimeElement(buf, p)) {
      const elementLength = CLUSTER_TIME_ELEMENT.length + buf.readInt32LE(p + CLUSTER_TIME_ELEMENT.length)
      if (p + elementLength > end) return size
      buf.copyWithin(p, p + elementLength, end + 1)
      const newSize = size - elementLength
      buf.writeInt32LE(newSize, offset)
      return newSize
    }
    p = elementEnd(buf, p, end)
    if (p < 0) return size
  }
  return size
}

function isClusterTimeElement(buf: Buffer, p: number): boolean {
  for (let i = 2; i < CLUSTER_TIME_ELEMENT.length; i++) if (buf[p + i] !== CLUSTER_TIME_ELEMENT[i]) return false
  return true
}

/** Where the element starting at `p` (its type byte) ends; -1 for a type not walked or past `end`. */
function elementEnd(buf: Buffer, p: number, end: number): number {
  const type = buf[p]
  // The name: scanned here rather than with indexOf, whose native call costs more than a short name.
  let v = p + 1
  while (v < end && buf[v] !== 0) v++
  if (v >= end) return -1
  v++
  let next: number
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: next = v + 8; break // double, date, timestamp, int64
    case 0x02: case 0x0d: case 0x0e: next = v + 4 + buf.readInt32LE(v); break // string, code, symbol
    case 0x03: case 0x04: case 0x0f: next = v + buf.readInt32LE(v); break // document, array, code with scope
    case 0x05: next = v + 5 + buf.readInt32LE(v); break // binary
    case 0x06: case 0x0a: case 0x7f: case 0xff: next = v; break // undefined, null, maxKey, minKey
    case 0x07: next = v + 12; break // ObjectId
    case 0x08: next = v + 1; break // boolean
    case 0x10: next = v + 4; break // int32
    case 0x13: next = v + 16; break // decimal128
    default: return -1
  }
  return next > end || next <= p ? -1 : next
}

function readCString(buf: Buffer, offset: number): { s: string; end: number } {
  const z = buf.indexOf(0, offset)
  if (z < 0) throw new Error('unterminated cstring')
  return { s: buf.toString('utf8', offset, z), end: z + 1 }
}

export function readHeader(buf: Buffer): Header {
  return { length: buf.readInt32LE(0), requestId: buf.readInt32LE(4), responseTo: buf.readInt32LE(8), opCode: buf.readInt32LE(12) }
}

/** Decodes one complete message (header included) into a command. */
export function decodeMessage(msg: Buffer, h: Header): Command {
  if (h.opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16)
    // The CRC-32C trailer is optional to verify; TCP already protects loopback traffic.
    const end = (flags & FLAG_CHECKSUM) !== 0 ? msg.length - 4 : msg.length
    let off = 20
    let body: Document | undefined
    const seqs: Array<{ id: string; docs: Document[] }> = []
    while (off < end) {
      const kind = msg[off]
      off += 1
      if (kind === 0) {
        const size = msg.readInt32LE(off)
        dropClusterTime(msg, off, size)
        body = readDoc(msg, off).doc
        off += size // the section keeps its length even when the document inside it shrank
      } else if (kind === 1) {
        const size = msg.readInt32LE(off)
        const secEnd = off + size
        const id = readCString(msg, off + 4)
        let p = id.end
        const docs: Document[] = []
        while (p < secEnd) {
          const r = readDoc(msg, p)
          docs.push(r.doc)
          p = r.end
        }
        seqs.push({ id: id.s, docs })
        off = secEnd
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`)
      }
    }
    if (body === undefined) throw new Error('OP_MSG without a body section')
    // Kind-1 sequences are fields of the command (e.g. `documents` of insert).
    for (const s of seqs) body[s.id] = s.docs
    const db = typeof body.$db === 'string' ? body.$db : 'admin'
    return { db, body, moreToCome: (flags & FLAG_MORE_TO_COME) !== 0, legacy: false, exhaustAllowed: (flags & FLAG_EXHAUST_ALLOWED) !== 0 }
  }
  if (h.opCode === OP_QUERY) {
    const ns = readCString(msg, 20)
    const off = ns.end + 8 // numberToSkip, numberToReturn
    let { doc } = readDoc(msg, off)
    if (doc.$query !== undefined && typeof doc.$query === 'object') doc = doc.$query as Document
    const dot = ns.s.indexOf('.')
    const db = dot < 0 ? ns.s : ns.s.slice(0, dot)
    const coll = dot < 0 ? '' : ns.s.slice(dot + 1)
    if (coll !== '$cmd') {
      return { db, body: { $legacyQueryUnsupported: coll }, moreToCome: false, legacy: true }
    }
    return { db, body: doc, moreToCome: false, legacy: true }
  }
  throw new Error(`unsupported opCode ${h.opCode}`)
}

const SER = { ignoreUndefined: true } as const
let nextRequestId = 1

/**
 * One reply; `moreToCome` (exhaust) tells the client further replies follow unasked. A reply
 * marked with a cluster time (replica-set mode) gets `$clusterTime` and `operationTime` appended
 * as its last fields, from pre-encoded bytes.
 */
export function encodeReply(reply: Document, responseTo: number, legacy: boolean, moreToCome = false): Buffer {
  const body = serialize(reply, SER)
  const t = (reply as Stamped)[CLUSTER_TIME]
  const size = t === undefined ? body.length : body.length + STAMP_SIZE
  const requestId = nextRequestId++ & 0x7fffffff
  const start = legacy ? 36 : 21
  const out = Buffer.allocUnsafe(start + size)
  out.writeInt32LE(out.length, 0)
  out.writeInt32LE(requestId, 4)
  out.writeInt32LE(responseTo, 8)
  if (legacy) {
    out.writeInt32LE(OP_REPLY, 12)
    out.writeInt32LE(0, 16) // responseFlags
    out.writeBigInt64LE(0n, 20) // cursorID
    out.writeInt32LE(0, 28) // startingFrom
    out.writeInt32LE(1, 32) // numberReturned
  } else {
    out.writeInt32LE(OP_MSG, 12)
    out.writeUInt32LE(moreToCome ? FLAG_MORE_TO_COME : 0, 16) // never a checksum
    out[20] = 0
  }
  out.set(body, start)
  if (t !== undefined) {
    // The two elements go where the body's terminating 0 was; the document grows by as much.
    writeClusterTime(out, start + body.length - 1, t)
    out[start + size - 1] = 0
    out.writeInt32LE(size, start)
  }
  return out
}
