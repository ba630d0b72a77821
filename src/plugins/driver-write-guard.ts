// A fix for a hang in the MongoDB Node driver (7.8, and 7.9.1 still has it), applied once per
// process before any connection is made. Written by hand because no release fixes it and no
// option avoids it (client-side operation timeouts, `timeoutMS`, would bound it, but they are
// experimental and change every operation's retry and cursor behaviour, change streams included).
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
// first. What is patched is the driver's own (internal) method, checked to exist: if an upgrade
// renames it, start-up says so rather than running unguarded in silence.
import { createRequire } from 'node:module'
import { MongoNetworkError } from 'mongodb'
import mongoose from 'mongoose'
import type { Socket } from 'node:net'

interface DriverConnection {
  id: number | string
  address: string
  closed: boolean
  socket: Socket
  onError: (error: Error) => void
  writeCommand: (command: unknown, options: unknown) => Promise<void>
}

const GUARDED = Symbol.for('modex.driverWriteGuard')

let refused = 0
/** Commands this process's guard failed instead of leaving them hanging (each would have hung for good). */
export function writesRefusedOnClosedConnections (): number {
  return refused
}

function closedError (connection: DriverConnection, when: string): MongoNetworkError {
  return new MongoNetworkError(`connection ${connection.id} to ${connection.address} closed ${when}`)
}

/** Installs the guard on the driver's Connection class (once per process); throws if the driver no longer has the method. */
export function guardDriverWrites (): void {
  const require = createRequire(import.meta.url)
  // The same module instance mongoose uses: one mongodb in the tree (package.json pins it, npm dedupes it).
  const { Connection } = require('mongodb/lib/cmap/connection.js') as { Connection: { prototype: DriverConnection & { [GUARDED]?: true } } }
  // A second copy of the driver under mongoose would go unguarded: refuse to start instead.
  if (mongoose.mongo.MongoNetworkError !== MongoNetworkError) throw new Error('mongoose uses another copy of the mongodb driver than the one guarded; dedupe it (npm ls mongodb)')
  const proto = Connection.prototype
  if (proto[GUARDED] === true) return
  const original = proto.writeCommand
  if (typeof original !== 'function') throw new Error('mongodb driver: Connection.prototype.writeCommand is gone; review src/plugins/driver-write-guard.ts for this driver version')
  proto.writeCommand = async function guardedWriteCommand (this: DriverConnection, command: unknown, options: unknown): Promise<void> {
    const socket = this.socket
    if (this.closed || socket.destroyed || socket.writableEnded) {
      const error = closedError(this, 'before the command was written')
      refused++
      this.onError(error)
      throw error
    }
    let onClose: (() => void) | undefined
    const closed = new Promise<never>((_resolve, reject) => {
      onClose = () => { refused++; reject(closedError(this, 'while the command was being written')) }
      socket.once('close', onClose)
    })
    closed.catch(() => {})
    try {
      await Promise.race([original.call(this, command, options), closed])
    } finally {
      if (onClose !== undefined) socket.off('close', onClose)
    }
  }
  proto[GUARDED] = true
}
