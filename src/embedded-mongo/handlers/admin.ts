// Handshake, diagnostics and session commands.
import { Long, Timestamp } from 'bson'
import { fault } from '../errors.js'
import { MAX_BSON, MAX_MESSAGE } from '../wire.js'
import { opSeconds, toTimestamp } from '../replication.js'
import { isPlainObject, toNumber, type Doc } from '../values.js'
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
  if (e.replSet !== undefined) Object.assign(r, replicaSetFields(e))
  // No `compression` field: compression is never negotiated, so OP_COMPRESSED never arrives.
  return r
}

/** What `hello` adds on the primary of a one-member set, as mongod --replSet after rs.initiate(). */
function replicaSetFields(e: Engine): Doc {
  const ts = toTimestamp(e.clock.current)
  const opTime = { ts, t: Long.fromNumber(1) }
  const date = new Date(opSeconds(e.clock.current) * 1000)
  return {
    topologyVersion: { processId: e.processId, counter: Long.ZERO },
    hosts: [e.me],
    setName: e.replSet,
    setVersion: 1,
    secondary: false,
    primary: e.me,
    me: e.me,
    electionId: e.electionId,
    lastWrite: { opTime, lastWriteDate: date, majorityOpTime: opTime, majorityWriteDate: date },
  }
}

/**
 * An awaitable hello (the driver's streaming monitor) waits up to maxAwaitTimeMS for a topology
 * change; one member's topology never changes, so it waits it out (without blocking anyone).
 * https://github.com/mongodb/specifications/blob/master/source/server-discovery-and-monitoring/server-monitoring.md
 */
function awaitable(cmd: Doc): number | undefined {
  return isPlainObject(cmd.topologyVersion) ? toNumber(cmd.maxAwaitTimeMS) : undefined
}

function helloCommand(legacy: boolean): Handler {
  return (e, _db, cmd, conn) => {
    const wait = e.replSet === undefined ? undefined : awaitable(cmd)
    if (wait === undefined || wait <= 0) return hello(e, cmd, conn, legacy)
    return e.sleep(wait).then(() => hello(e, cmd, conn, legacy))
  }
}

function replSetGetStatus(e: Engine): Doc {
  if (e.replSet === undefined) throw fault(76, 'not running with --replSet')
  const ts = toTimestamp(e.clock.current)
  const opTime = { ts, t: Long.fromNumber(1) }
  const now = new Date()
  const optimeDate = new Date(opSeconds(e.clock.current) * 1000)
  return {
    set: e.replSet, date: now, myState: 1, term: Long.fromNumber(1), heartbeatIntervalMillis: Long.fromNumber(2000),
    majorityVoteCount: 1, writeMajorityCount: 1, votingMembersCount: 1, writableVotingMembersCount: 1,
    optimes: { lastCommittedOpTime: opTime, readConcernMajorityOpTime: opTime, appliedOpTime: opTime, durableOpTime: opTime, lastAppliedWallTime: optimeDate, lastDurableWallTime: optimeDate },
    members: [{
      _id: 0, name: e.me, health: 1, state: 1, stateStr: 'PRIMARY', uptime: Math.floor((Date.now() - e.startedAt) / 1000),
      optime: opTime, optimeDate, lastAppliedWallTime: optimeDate, lastDurableWallTime: optimeDate, syncSourceHost: '', syncSourceId: -1, infoMessage: '',
      electionTime: new Timestamp({ t: Math.floor(e.startedAt / 1000), i: 1 }), electionDate: new Date(e.startedAt),
      configVersion: 1, configTerm: 1, self: true, lastHeartbeatMessage: '',
    }],
    ok: 1,
  }
}

const TXN_REFUSED = 'Transaction numbers are only allowed on a replica set member or mongos'
const MULTI_TXN_REFUSED = 'Multi-document transactions are not supported by the embedded server (retryable writes are)'

export const adminHandlers: Record<string, Handler> = {
  hello: helloCommand(false),
  isMaster: helloCommand(true),
  ismaster: helloCommand(true),
  replSetGetStatus: (e) => replSetGetStatus(e),
  replSetGetConfig: (e) => {
    if (e.replSet === undefined) throw fault(76, 'not running with --replSet')
    return { config: { _id: e.replSet, version: 1, term: 1, members: [{ _id: 0, host: e.me, arbiterOnly: false, buildIndexes: true, hidden: false, priority: 1, tags: {}, secondaryDelaySecs: Long.ZERO, votes: 1 }], protocolVersion: Long.fromNumber(1), writeConcernMajorityJournalDefault: true, settings: {} }, ok: 1 }
  },
  replSetInitiate: (e) => {
    if (e.replSet === undefined) throw fault(76, 'This node was not started with replication enabled.')
    throw fault(23, 'already initialized')
  },
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
  endSessions: (e, _db, cmd) => { e.retries.end(cmd.endSessions); return { ok: 1 } },
  killAllSessions: (e) => { e.retries.clear(); return { ok: 1 } },
  killSessions: (e, _db, cmd) => { e.retries.end(cmd.killSessions); return { ok: 1 } },
  refreshSessions: () => ({ ok: 1 }),
  startSession: () => ({ id: { id: null }, timeoutMinutes: 30, ok: 1 }),
  abortTransaction: (e) => { throw e.replSet === undefined ? fault(20, TXN_REFUSED) : fault(263, MULTI_TXN_REFUSED) },
  commitTransaction: (e) => { throw e.replSet === undefined ? fault(20, TXN_REFUSED) : fault(263, MULTI_TXN_REFUSED) },
  saslStart: () => { throw fault(115, 'authentication is not supported by the embedded server') },
}
