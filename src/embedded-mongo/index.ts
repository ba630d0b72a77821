// An in-process server that speaks enough of the MongoDB wire protocol for the official driver,
// mongoose and Agenda to run unchanged. See README.md in this folder for what it supports.
import net from 'node:net'
import { Engine } from './commands.js'
import { fault } from './errors.js'
import type { Document as Doc } from 'bson'
import { decodeMessage, encodeReply, FrameReader, readHeader, type Header } from './wire.js'

export interface EmbeddedMongo { uri: string; port: number; stop(): Promise<void> }

export async function startEmbeddedMongo(opts: { port?: number; host?: string } = {}): Promise<EmbeddedMongo> {
  const host = opts.host ?? '127.0.0.1'
  const engine = new Engine()
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
  let stopped: Promise<void> | undefined

  return {
    uri: `mongodb://${uriHost}:${port}/`,
    port,
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
