// An in-process server that speaks enough of the MongoDB wire protocol for the official driver,
// mongoose and Agenda to run unchanged. See README.md in this folder for what it supports.
import net from 'node:net'
import os from 'node:os'
import { Engine } from './commands.js'
import { fault } from './errors.js'
import type { Document as Doc } from 'bson'
import { isPlainObject } from './values.js'
import { decodeMessage, encodeReply, FrameReader, readHeader, type Header } from './wire.js'

export interface EmbeddedMongo {
  uri: string
  port: number
  /** The replica set's name, or undefined for a standalone. */
  replSet: string | undefined
  stop(): Promise<void>
}

export interface EmbeddedMongoOptions {
  port?: number
  host?: string
  /** Present itself as a standalone mongod (no replica set, no change streams, no retryable writes). */
  standalone?: boolean
  /** The replica set's name (default `rs0`). */
  replSet?: string
  /** Changes kept for change streams to resume from (default 100,000). */
  historySize?: number
  /** host:port that hello gives as this member (default: the address it listens on). */
  advertise?: string
}

export async function startEmbeddedMongo(opts: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = opts.host ?? '127.0.0.1'
  const replSet = opts.standalone === true ? undefined : opts.replSet ?? 'rs0'
  const engine = new Engine({ replSet, historySize: opts.historySize })
  const sockets = new Set<net.Socket>()
  let nextConnId = 1

  const server = net.createServer((socket) => {
    sockets.add(socket)
    engine.connections++
    socket.setNoDelay(true)
    const conn = { id: nextConnId++ }
    const frames = new FrameReader()
    // Replies leave in request order: once one command waits (an awaiting getMore), the
    // frames after it on this connection queue behind it.
    let queue: Promise<void> | undefined
    const reply = (h: Header, legacy: boolean, moreToCome: boolean, r: Doc): Buffer | undefined =>
      moreToCome ? undefined : encodeReply(r, h.requestId, legacy)
    const handle = (msg: Buffer): Buffer | undefined | Promise<Buffer | undefined> => {
      const h = readHeader(msg)
      try {
        const cmd = decodeMessage(msg, h)
        if (cmd.exhaustAllowed === true && engine.replSet !== undefined && isPlainObject(cmd.body.topologyVersion)) {
          return exhaust(h, cmd.db, cmd.body)
        }
        const r = cmd.body.$legacyQueryUnsupported !== undefined
          ? fault(352, 'Unsupported OP_QUERY command').toReply()
          : engine.run(cmd.db, cmd.body, conn)
        if (r instanceof Promise) return r.then((d) => reply(h, cmd.legacy, cmd.moreToCome, d))
        return reply(h, cmd.legacy, cmd.moreToCome, r)
      } catch (e) {
        const errmsg = e instanceof Error ? e.message : String(e)
        return encodeReply({ ok: 0, errmsg, code: 2, codeName: 'BadValue' }, h.requestId, h.opCode !== 2013)
      }
    }
    // The driver's streaming monitor: an awaitable hello with exhaustAllowed gets a reply every
    // maxAwaitTimeMS, each flagged moreToCome and answering the previous one, until the socket closes.
    const exhaust = async (h: Header, db: string, body: Doc): Promise<undefined> => {
      let responseTo = h.requestId
      while (!socket.destroyed && !engine.stopped) {
        const d = await engine.run(db, body, conn)
        if (socket.destroyed || engine.stopped) break
        const out = encodeReply(d, responseTo, false, true)
        responseTo = out.readInt32LE(4)
        socket.write(out)
      }
      return undefined
    }
    const send = (out: Buffer | undefined): void => {
      if (out !== undefined && !socket.destroyed) socket.write(out)
    }
    const enqueue = (p: Promise<void>): void => {
      queue = p
      // The queue empties itself once its last command has answered.
      void p.then(() => { if (queue === p) queue = undefined })
    }
    socket.on('data', (chunk: Buffer) => {
      const msgs = frames.push(chunk)
      if (msgs === undefined) { socket.destroy(); return }
      const replies: Buffer[] = []
      for (const msg of msgs) {
        if (queue !== undefined) {
          const copy = Buffer.from(msg)
          enqueue(queue.then(async () => send(await handle(copy))))
          continue
        }
        const out = handle(msg)
        if (out instanceof Promise) enqueue(out.then(send))
        else if (out !== undefined) replies.push(out)
      }
      if (replies.length === 1) socket.write(replies[0])
      else if (replies.length > 1) socket.write(Buffer.concat(replies))
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      sockets.delete(socket)
      engine.connections--
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  engine.startTtlMonitor()
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  const uriHost = host.includes(':') ? `[${host}]` : host
  // A wildcard address is no address to give clients: name the machine instead, as rs.initiate() does.
  const wildcard = host === '0.0.0.0' || host === '::'
  engine.me = opts.advertise ?? `${wildcard ? os.hostname() : uriHost}:${port}`
  let stopped: Promise<void> | undefined

  return {
    uri: `mongodb://${uriHost}:${port}/`,
    port,
    replSet,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        engine.stop()
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
      return stopped
    },
  }
}
