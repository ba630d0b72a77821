// Two hooks in the MongoDB Node driver's (internal) connection code, installed once per process
// before any connection is made. Both patch methods checked to exist at start-up: if a driver
// upgrade renames them, start-up says so rather than running without them in silence.
//
// 1. The write guard: a fix for a hang in the driver (7.8, and 7.9.1 still has it). Written by
// hand because no release fixes it and no option avoids it (client-side operation timeouts,
// `timeoutMS`, would bound it, but they are experimental and change every operation's retry and
// cursor behaviour, change streams included).
//
// The hang: when the database closes a pooled connection in an orderly way (a FIN: a restart, an
// idle-connection reaper, a proxy), Node marks the socket destroyed a turn or two before it emits
// 'close', and only 'close' tells the driver (Connection.closed). A command checked out onto that
// connection in between is written to a destroyed socket: `write()` returns false, no 'error' is
// emitted (the socket is already destroyed), and Connection.writeCommand then waits for a 'drain'
// that never comes. The 'close' that follows finds no read in progress to fail, so the operation,
// and every request waiting on it, never settles. Seen here as holds and confirms with no answer
// under the network-fault test's resets (test/faults/network-faults.test.ts).
//
// The guard: a write to a socket that is already destroyed or ended fails at once with a
// MongoNetworkError (the command was never sent, so the driver's retryable reads and writes retry
// it on another connection), and a write that waits for 'drain' also fails if the socket closes
// first.
//
// 2. Command observers (`onCommandSent`): every command a client sends on its pooled connections,
// with its name and document, as the driver's `commandStarted` event gives them, for the
// `modex_db_commands_total` counter and the seat map's read time. Written by hand because the
// driver's own command monitoring (`monitorCommands`) builds a started and a succeeded event for
// every command whether or not anyone listens to the second, and the succeeded event deserialises
// the whole reply a second time (a change stream's getMore batch, a seat map's 5,000 seats): with
// it on, the driver's CPU per operation was 18–27 % higher in a micro-benchmark of the service's
// mix (claims, releases, inserts, a change stream with updateLookup). The observers see the
// commands commandStarted showed, when they are written to the socket: those of connections
// checked out of a client's pool (not the monitor's heartbeats, not a new connection's handshake
// or authentication); a command refused by the guard before it was written is seen once, when
// the driver's retry writes it. Observers get the command document itself (an insert's documents
// may be a DocumentSequence): they must not change it, and must not throw.
import { createRequire } from 'node:module'
import { MongoNetworkError, type MongoClient } from 'mongodb'
import mongoose from 'mongoose'
import type { Socket } from 'node:net'

/** A command as an observer sees it: the names the driver's CommandStartedEvent uses. */
export interface SentCommand { commandName: string, command: Record<string, unknown> }
export type CommandObserver = (event: SentCommand) => void

interface DriverConnection {
  id: number | string
  address: string
  closed: boolean
  socket: Socket
  onError: (error: Error) => void
  writeCommand: (command: unknown, options: unknown) => Promise<void>
  /** The client whose pool this connection was checked out of (set on its first check-out). */
  [OWNER]?: MongoClient
  /** The guard's: what fails each write in flight when the socket closes; undefined until the first write. */
  [WRITING]?: Set<(error: Error) => void>
}

interface DriverPool {
  server: { topology: { client: MongoClient } }
  checkOut: (options: unknown) => Promise<DriverConnection>
}

// Shared through the symbol registry, so that a second instance of this module (a test loading it
// by another path) finds the hooks installed by the first and the same observers.
const INSTALLED = Symbol.for('modex.driverHooks')
const OWNER = Symbol.for('modex.connectionOwner')
const OBSERVERS = Symbol.for('modex.commandObservers')
const WRITING = Symbol.for('modex.writeInFlight')
const shared = globalThis as { [OBSERVERS]?: WeakMap<MongoClient, Set<CommandObserver>> }
const observers = shared[OBSERVERS] ??= new WeakMap()

/** Calls `observer` for every command `client` sends on its pooled connections from now on; returns what stops it. */
export function onCommandSent (client: MongoClient, observer: CommandObserver): () => void {
  let set = observers.get(client)
  if (set === undefined) observers.set(client, set = new Set())
  set.add(observer)
  return () => { set.delete(observer) }
}

/** Tells the observers of the connection's client about `request` (an OP_MSG: the handshake's legacy hello has no `command`). */
function commandWritten (connection: DriverConnection, request: unknown): void {
  const client = connection[OWNER]
  if (client === undefined) return
  const set = observers.get(client)
  if (set === undefined || set.size === 0) return
  const command = (request as { command?: Record<string, unknown> }).command
  if (command === undefined) return
  let commandName = ''
  for (const key in command) { commandName = key; break }
  const event = { commandName, command }
  for (const observer of set) observer(event)
}

let refused = 0
/** Commands this process's guard failed instead of leaving them hanging (each would have hung for good). */
export function writesRefusedOnClosedConnections (): number {
  return refused
}

function closedError (connection: DriverConnection, when: string): MongoNetworkError {
  return new MongoNetworkError(`connection ${connection.id} to ${connection.address} closed ${when}`)
}

/**
 * The connection's writes in flight (a pooled connection writes one command at a time; one pinned
 * to a session in load-balanced mode may write two), each failed if the socket closes first.
 */
function watchClose (connection: DriverConnection): Set<(error: Error) => void> {
  const inFlight = new Set<(error: Error) => void>()
  // Not enumerable, as the owner's tag.
  Object.defineProperty(connection, WRITING, { value: inFlight })
  connection.socket.once('close', () => {
    for (const fail of inFlight) {
      refused++
      fail(closedError(connection, 'while the command was being written'))
    }
    inFlight.clear()
  })
  return inFlight
}

/** Installs both hooks on the driver's classes (once per process); throws if the driver no longer has what they patch. */
export function installDriverHooks (): void {
  const require = createRequire(import.meta.url)
  // The same module instances mongoose uses: one mongodb in the tree (package.json pins it, npm dedupes it).
  const { Connection } = require('mongodb/lib/cmap/connection.js') as { Connection: { prototype: DriverConnection & { [INSTALLED]?: true } } }
  const { ConnectionPool } = require('mongodb/lib/cmap/connection_pool.js') as { ConnectionPool: { prototype: DriverPool } }
  // A second copy of the driver under mongoose would go unguarded: refuse to start instead.
  if (mongoose.mongo.MongoNetworkError !== MongoNetworkError) throw new Error('mongoose uses another copy of the mongodb driver than the one guarded; dedupe it (npm ls mongodb)')
  const proto = Connection.prototype
  if (proto[INSTALLED] === true) return
  const original = proto.writeCommand
  const checkOut = ConnectionPool.prototype.checkOut
  if (typeof original !== 'function' || typeof checkOut !== 'function') throw new Error('mongodb driver: Connection.prototype.writeCommand or ConnectionPool.prototype.checkOut is gone; review src/driver-hooks.ts for this driver version')
  ConnectionPool.prototype.checkOut = async function checkOutTagged (this: DriverPool, options: unknown): Promise<DriverConnection> {
    const connection = await checkOut.call(this, options)
    // Not enumerable: inspecting a connection must not print its whole client.
    if (connection[OWNER] === undefined) Object.defineProperty(connection, OWNER, { value: this.server.topology.client })
    return connection
  }
  proto.writeCommand = function guardedWriteCommand (this: DriverConnection, command: unknown, options: unknown): Promise<void> {
    const socket = this.socket
    if (this.closed || socket.destroyed || socket.writableEnded) {
      const error = closedError(this, 'before the command was written')
      refused++
      this.onError(error)
      return Promise.reject(error)
    }
    commandWritten(this, command)
    // One 'close' listener per connection, failing the writes in flight: adding and removing a
    // listener per command cost more than the rest of the guard.
    const inFlight = this[WRITING] ?? watchClose(this)
    return new Promise<void>((resolve, reject) => {
      inFlight.add(reject)
      original.call(this, command, options).then(() => {
        inFlight.delete(reject)
        resolve()
      }, (error: unknown) => {
        inFlight.delete(reject)
        reject(error)
      })
    })
  }
  proto[INSTALLED] = true
}
