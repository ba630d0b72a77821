// An in-process server that speaks enough of the MongoDB wire protocol for the official driver,
// mongoose and Agenda to run unchanged. See README.md in this folder for what it supports.
import net from 'node:net'
import { Engine } from './commands.js'
import { fault } from './errors.js'
import { decodeMessage, encodeReply, readHeader } from './wire.js'

export interface EmbeddedMongo { uri: string; port: number; stop(): Promise<void> }

const MAX_MESSAGE = 48000000

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
    let pending: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      // Frames may be split across or merged within TCP chunks.
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      const replies: Buffer[] = []
      while (pending.length >= 16) {
        const len = pending.readInt32LE(0)
        if (len < 16 || len > MAX_MESSAGE) { socket.destroy(); return }
        if (pending.length < len) break
        const msg = pending.subarray(0, len)
        pending = pending.subarray(len)
        const h = readHeader(msg)
        let out: Buffer | undefined
        try {
          const cmd = decodeMessage(msg, h)
          const reply = cmd.body.$legacyQueryUnsupported !== undefined
            ? fault(352, 'Unsupported OP_QUERY command').toReply()
            : engine.run(cmd.db, cmd.body, conn)
          if (!cmd.moreToCome) out = encodeReply(reply, h.requestId, cmd.legacy)
        } catch (e) {
          const errmsg = e instanceof Error ? e.message : String(e)
          out = encodeReply({ ok: 0, errmsg, code: 2, codeName: 'BadValue' }, h.requestId, h.opCode !== 2013)
        }
        if (out !== undefined) replies.push(out)
      }
      if (pending.length > 0 && pending.byteOffset !== 0) pending = Buffer.from(pending) // release the big chunk
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
