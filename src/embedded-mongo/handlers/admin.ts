// Handshake, diagnostics and session commands.
import { Long } from 'bson'
import { fault } from '../errors.js'
import { MAX_BSON, MAX_MESSAGE } from '../wire.js'
import type { Doc } from '../values.js'
import type { ConnectionInfo, Handler } from './common.js'
import type { Engine } from '../commands.js'

const MAX_BATCH = 100000

function hello(e: Engine, cmd: Doc, conn: ConnectionInfo, legacy: boolean): Doc {
  const r: Doc = {}
  if (cmd.helloOk === true) r.helloOk = true
  if (legacy) r.ismaster = true
  else r.isWritablePrimary = true
  Object.assign(r, {
    maxBsonObjectSize: MAX_BSON,
    maxMessageSizeBytes: MAX_MESSAGE,
    maxWriteBatchSize: MAX_BATCH,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: conn.id,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  })
  void e
  // No `compression` field: compression is never negotiated, so OP_COMPRESSED never arrives.
  return r
}

const TXN_REFUSED = 'Transaction numbers are only allowed on a replica set member or mongos'

export const adminHandlers: Record<string, Handler> = {
  hello: (e, _db, cmd, conn) => hello(e, cmd, conn, false),
  isMaster: (e, _db, cmd, conn) => hello(e, cmd, conn, true),
  ismaster: (e, _db, cmd, conn) => hello(e, cmd, conn, true),
  ping: () => ({ ok: 1 }),
  buildInfo: () => ({
    version: '7.0.0', gitVersion: 'embedded', versionArray: [7, 0, 0, 0], bits: 64, debug: false,
    maxBsonObjectSize: MAX_BSON, storageEngines: ['embedded'], modules: [], ok: 1,
  }),
  buildinfo: (e, db, cmd, conn) => adminHandlers.buildInfo(e, db, cmd, conn),
  getParameter: (_e, _db, cmd) => {
    const known: Doc = { featureCompatibilityVersion: { version: '7.0' }, authenticationMechanisms: [], logLevel: 0 }
    const out: Doc = {}
    if (cmd.getParameter === '*') Object.assign(out, known)
    for (const k of Object.keys(cmd)) if (k in known) out[k] = known[k]
    return { ...out, ok: 1 }
  },
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  hostInfo: () => ({ system: { currentTime: new Date(), hostname: 'embedded', cpuAddrSize: 64, numCores: 1 }, os: { type: process.platform }, extra: {}, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ['embedded-mongo'], parsed: {}, ok: 1 }),
  whatsmyuri: () => ({ you: '127.0.0.1:0', ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  serverStatus: (e) => ({
    host: 'embedded', version: '7.0.0', process: 'mongod', pid: Long.fromNumber(process.pid),
    uptime: (Date.now() - e.startedAt) / 1000, localTime: new Date(),
    connections: { current: e.connections, available: 1000000 }, ok: 1,
  }),
  endSessions: () => ({ ok: 1 }),
  killAllSessions: () => ({ ok: 1 }),
  killSessions: () => ({ ok: 1 }),
  refreshSessions: () => ({ ok: 1 }),
  startSession: () => ({ id: { id: null }, timeoutMinutes: 30, ok: 1 }),
  abortTransaction: () => { throw fault(20, TXN_REFUSED) },
  commitTransaction: () => { throw fault(20, TXN_REFUSED) },
  saslStart: () => { throw fault(115, 'authentication is not supported by the embedded server') },
}
