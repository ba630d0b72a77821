// The database closes a pooled connection in an orderly way (a FIN: a restart, an idle reaper, a
// proxy) just before the next command is checked out onto it. Without the driver write guard
// (src/driver-hooks.ts) the MongoDB driver writes that command to the destroyed
// socket and waits for a 'drain' that never comes: the operation never settles (seen as holds
// and confirms with no answer in the network-fault test). With it, every command settles: the
// driver retries it on a fresh connection.
import t from 'tap'
import net from 'node:net'
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises'
import { MongoClient } from 'mongodb'
import { startEmbeddedMongo } from '../../src/embedded-mongo/index.js'
import { installDriverHooks, writesRefusedOnClosedConnections } from '../../src/driver-hooks.js'

// Each refused command costs the driver's re-check of the server (~0.5 s) before its retry.
const ROUNDS = 48
const SETTLE_MS = 3000

/**
 * A standalone embedded database behind a TCP proxy; `relay` wires each client connection to its
 * upstream one (errors and closes are passed on here). Returns the proxy's port.
 */
async function proxyToDatabase (t: { teardown: (fn: () => unknown) => void }, relay: (client: net.Socket, upstream: net.Socket) => void): Promise<number> {
  const db = await startEmbeddedMongo({ standalone: true })
  t.teardown(async () => { await db.stop() })
  const sockets = new Set<net.Socket>()
  const proxy = net.createServer((client) => {
    const upstream = net.connect(db.port, '127.0.0.1')
    sockets.add(client).add(upstream)
    relay(client, upstream)
    client.on('error', () => upstream.destroy()).on('close', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => proxy.close(() => resolve()))
  })
  return (proxy.address() as net.AddressInfo).port
}

t.test('a command checked out onto a connection the database just closed settles instead of hanging', async (t) => {
  installDriverHooks()
  // A proxy that ends the client side of each connection (FIN) as soon as it has forwarded one
  // command's reply (the first two replies are the connection's handshake).
  const port = await proxyToDatabase(t, (client, upstream) => {
    let replies = 0
    client.on('data', (chunk: Buffer) => upstream.write(chunk))
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk)
      if (++replies >= 2) { client.end(); upstream.destroy() }
    })
  })
  // One connection in the pool, so the next command always goes to the one just closed.
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/orderly?directConnection=true`, { maxPoolSize: 1, serverSelectionTimeoutMS: 2000 })
  t.teardown(async () => { await client.close() })
  const seats = client.db('orderly').collection('seats')
  await seats.insertOne({ label: 'A1' }).catch(() => {})

  const refusedBefore = writesRefusedOnClosedConnections()
  const outcomes: Record<string, number> = { found: 0, failed: 0, hung: 0 }
  const settle = async (): Promise<string> => await Promise.race([
    seats.findOne({ label: 'A1' }).then((doc) => doc !== null ? 'found' : 'failed', () => 'failed'),
    sleep(SETTLE_MS, 'hung')
  ])
  // A hung command holds the pool's one connection for good: the rounds stop at the first.
  for (let round = 0; round < ROUNDS && outcomes.hung === 0; round++) {
    outcomes[await settle()]++
    // The close takes the socket through a few turns of the event loop (ended, destroyed, then
    // 'close'): the next command is sent after 0–7 of them, so some land in the gap.
    for (let k = 0; k < round % 8; k++) await immediate()
    if (outcomes.hung === 0) outcomes[await settle()]++
  }
  const refused = writesRefusedOnClosedConnections() - refusedBefore
  t.comment(`outcomes ${JSON.stringify(outcomes)}; ${refused} commands refused on a closed connection and retried`)
  t.ok(refused > 0, 'the race happened: commands were checked out onto a connection already closed')
  t.equal(outcomes.hung, 0, `no command hung (none waited ${SETTLE_MS} ms)`)
  t.equal(outcomes.found, 2 * ROUNDS, 'every command answered: the driver retried the refused ones on a fresh connection')
})

t.test('a write waiting for drain fails when its connection closes, instead of waiting for good', async (t) => {
  installDriverHooks()
  // A proxy that stops reading once told to: a big command then fills the socket's buffer and the
  // driver waits for 'drain'.
  let stall = false
  const port = await proxyToDatabase(t, (client, upstream) => {
    client.on('data', (chunk: Buffer) => { if (stall) client.pause(); else upstream.write(chunk) })
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
  })
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/drain?directConnection=true`, { maxPoolSize: 1, serverSelectionTimeoutMS: 2000, retryWrites: false })
  t.teardown(async () => { await client.close() })
  const docs = client.db('drain').collection('docs')
  await docs.insertOne({ n: 1 })

  // The driver's socket to the proxy, seen when a write to it returns false (its buffer full).
  const full: net.Socket[] = []
  const write = net.Socket.prototype.write
  t.teardown(() => { net.Socket.prototype.write = write })
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    const accepted = (write as (...a: unknown[]) => boolean).apply(this, args)
    if (!accepted && full.length === 0 && this.remotePort === port) full.push(this)
    return accepted
  } as typeof write
  stall = true
  const refusedBefore = writesRefusedOnClosedConnections()
  const outcome = docs.insertOne({ blob: 'x'.repeat(8_000_000) }).then(() => 'written', (error: Error) => error.message)
  await sleep(500)
  t.equal(full.length, 1, 'the write filled the socket: the driver waits for drain')
  // Closed without an error (as after an orderly close): no 'error' for the driver's wait to see.
  full[0]?.destroy()
  const result = await Promise.race([outcome, sleep(SETTLE_MS, 'hung')])
  t.match(result, /closed while the command was being written/, 'the write failed at the close')
  t.equal(writesRefusedOnClosedConnections() - refusedBefore, 1)
})
