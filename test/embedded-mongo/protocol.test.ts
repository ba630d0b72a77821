// Handshake, framing and the administrative commands of a standalone (`standalone: true`);
// transactions refused like a standalone. The replica-set mode: replica-set.test.ts.
import t from 'tap'
import net from 'node:net'
import { deserialize, serialize, type Document } from 'bson'
import { MongoClient, MongoServerError } from 'mongodb'
import { startEmbeddedMongo } from '../../src/embedded-mongo/index.js'
import { serverError, useEmbeddedMongo } from './support.js'

const mongo = useEmbeddedMongo('proto_test', { standalone: true })


function opMsg(body: Document, requestId: number, flags = 0): Buffer {
  const doc = serialize(body)
  const b = Buffer.alloc(21 + doc.length)
  b.writeInt32LE(b.length, 0)
  b.writeInt32LE(requestId, 4)
  b.writeInt32LE(0, 8)
  b.writeInt32LE(2013, 12)
  b.writeUInt32LE(flags, 16)
  b[20] = 0
  b.set(doc, 21)
  return b
}

function opQuery(ns: string, body: Document, requestId: number): Buffer {
  const doc = serialize(body)
  const nsBuf = Buffer.from(ns + '\0')
  const b = Buffer.alloc(16 + 4 + nsBuf.length + 8 + doc.length)
  b.writeInt32LE(b.length, 0)
  b.writeInt32LE(requestId, 4)
  b.writeInt32LE(0, 8)
  b.writeInt32LE(2004, 12)
  b.writeInt32LE(0, 16)
  nsBuf.copy(b, 20)
  b.writeInt32LE(0, 20 + nsBuf.length)
  b.writeInt32LE(-1, 24 + nsBuf.length)
  b.set(doc, 28 + nsBuf.length)
  return b
}

/** Reads `n` whole replies from a socket, however TCP splits them. */
function readReplies(sock: net.Socket, n: number): Promise<Array<{ opCode: number; responseTo: number; doc: Document }>> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    const out: Array<{ opCode: number; responseTo: number; doc: Document }> = []
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      while (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
        const len = buf.readInt32LE(0)
        const msg = buf.subarray(0, len)
        buf = buf.subarray(len)
        const opCode = msg.readInt32LE(12)
        const docStart = opCode === 1 ? 36 : 21
        out.push({ opCode, responseTo: msg.readInt32LE(8), doc: deserialize(msg.subarray(docStart)) })
        if (out.length === n) resolve(out)
      }
    })
  })
}

t.test('raw wire: legacy OP_QUERY handshake, split and merged OP_MSG frames, moreToCome', async (t) => {
  const sock = net.connect(mongo.server.port, '127.0.0.1')
  await new Promise((r) => sock.once('connect', r))
  const replies = readReplies(sock, 3)
  sock.write(opQuery('admin.$cmd', { isMaster: 1, helloOk: true }, 1))
  const hello = opMsg({ hello: 1, $db: 'admin' }, 2)
  for (const byte of hello) sock.write(Buffer.from([byte])) // one byte per write
  // Two frames in one write; the first has moreToCome (no reply expected).
  sock.write(Buffer.concat([
    opMsg({ insert: 'raw', documents: [{ a: 1 }], $db: 'raw_db' }, 3, 2),
    opMsg({ count: 'raw', $db: 'raw_db' }, 4),
  ]))
  const [legacy, msg, count] = await replies
  sock.destroy()
  t.equal(legacy.opCode, 1, 'OP_REPLY for legacy OP_QUERY')
  t.equal(legacy.responseTo, 1)
  t.equal(legacy.doc.ismaster, true)
  t.equal(legacy.doc.helloOk, true)
  t.equal(msg.opCode, 2013)
  t.equal(msg.responseTo, 2)
  t.equal(msg.doc.isWritablePrimary, true)
  t.equal(msg.doc.maxWireVersion, 21)
  t.equal(msg.doc.minWireVersion, 0)
  t.equal(msg.doc.logicalSessionTimeoutMinutes, 30)
  t.notOk('setName' in msg.doc, 'standalone: no setName')
  t.notOk('compression' in msg.doc, 'no compressors advertised')
  t.type(msg.doc.connectionId, 'number')
  t.ok(msg.doc.localTime instanceof Date)
  t.ok(msg.doc.maxBsonObjectSize > 0 && msg.doc.maxMessageSizeBytes > 0 && msg.doc.maxWriteBatchSize > 0)
  t.equal(count.responseTo, 4)
  t.equal(count.doc.n, 1, 'the moreToCome insert was applied and got no reply')
})

t.test('checksum flag: trailer ignored', async (t) => {
  const sock = net.connect(mongo.server.port, '127.0.0.1')
  await new Promise((r) => sock.once('connect', r))
  const replies = readReplies(sock, 1)
  const m = opMsg({ ping: 1, $db: 'admin' }, 9, 1)
  const withCrc = Buffer.concat([m, Buffer.from([1, 2, 3, 4])])
  withCrc.writeInt32LE(withCrc.length, 0)
  sock.write(withCrc)
  const [r] = await replies
  sock.destroy()
  t.equal(r.doc.ok, 1)
})

t.test('admin commands', async (t) => {
  const admin = mongo.client.db('admin')
  t.same(await admin.command({ ping: 1 }), { ok: 1 })
  const bi = await admin.command({ buildInfo: 1 })
  t.equal(bi.version, '7.0.0')
  const gp = await admin.command({ getParameter: 1, featureCompatibilityVersion: 1 })
  t.same(gp.featureCompatibilityVersion, { version: '7.0' })
  const ss = await admin.command({ serverStatus: 1 })
  t.equal(ss.process, 'mongod')
  t.ok(ss.connections.current >= 1)
  t.equal((await admin.command({ hostInfo: 1 })).ok, 1)
  t.equal((await admin.command({ getLog: 'global' })).ok, 1)
  const hello = await admin.command({ hello: 1 })
  t.equal(hello.isWritablePrimary, true)
  const im = await admin.command({ isMaster: 1 })
  t.equal(im.ismaster, true)
  const unknown = await serverError(admin.command({ foo: 1 }))
  t.equal(unknown.code, 59)
  t.equal(unknown.codeName, 'CommandNotFound')
  t.equal(unknown.message, "no such command: 'foo'")
  t.equal((await admin.command({ endSessions: [] })).ok, 1)
  t.equal((await admin.command({ killAllSessions: [] })).ok, 1)
})

t.test('databases and collections: create, list, drop, rename, stats', async (t) => {
  await mongo.db.createCollection('alpha')
  const exists = await serverError(mongo.db.createCollection('alpha'))
  t.equal(exists.code, 48)
  t.equal(exists.codeName, 'NamespaceExists')
  await mongo.db.collection('beta').insertOne({ x: 1 })
  await mongo.db.collection('gamma').insertOne({ x: 1 })
  const all = await mongo.db.listCollections().toArray()
  t.same(all.map((c) => c.name).sort(), ['alpha', 'beta', 'gamma'])
  t.equal(all[0].type, 'collection')
  const filtered = await mongo.db.listCollections({ name: 'beta' }, { nameOnly: true }).toArray()
  t.same(filtered, [{ name: 'beta', type: 'collection' }])
  const dbs = await mongo.client.db('admin').admin().listDatabases()
  t.ok(dbs.databases.some((d) => d.name === 'proto_test'))
  const cs = await mongo.db.command({ collStats: 'beta' })
  t.equal(cs.count, 1)
  const ds = await mongo.db.stats()
  t.equal(ds.collections, 3)
  await mongo.db.renameCollection('gamma', 'delta')
  t.same((await mongo.db.listCollections().toArray()).map((c) => c.name).sort(), ['alpha', 'beta', 'delta'])
  t.equal(await mongo.db.collection('delta').countDocuments(), 1)
  t.ok(await mongo.db.collection('alpha').drop())
  t.ok(await mongo.db.collection('never-existed').drop(), 'dropping a missing collection is ok (MongoDB 7)')
  await mongo.db.dropDatabase()
  t.same(await mongo.db.listCollections().toArray(), [])
  const badName = await serverError(mongo.db.createCollection('bad$name'))
  t.equal(badName.code, 73)
})

t.test('transactions are refused as a standalone refuses them (code 20)', async (t) => {
  const session = mongo.client.startSession()
  const err = await serverError(session.withTransaction(async () => {
    await mongo.db.collection('tx').insertOne({ a: 1 }, { session })
  }))
  await session.endSession()
  // Against a real standalone the driver wraps code 20 in its "does not support retryable
  // writes" hint and keeps the server's answer as originalError — the same happens here.
  t.match(err.message, /does not support retryable writes/)
  const original = (err.errorResponse as { originalError?: MongoServerError }).originalError
  t.equal(original?.code, 20)
  t.equal(original?.codeName, 'IllegalOperation')
  t.equal(original?.message, 'Transaction numbers are only allowed on a replica set member or mongos')
  t.equal(await mongo.db.collection('tx').countDocuments(), 0)
  const raw = await serverError(mongo.db.command({ find: 'tx', txnNumber: 1 }))
  t.equal(raw.code, 20)
  const commit = await serverError(mongo.client.db('admin').command({ commitTransaction: 1 }))
  t.equal(commit.code, 20)
  // Sessions without transactions work (lsid is accepted).
  const s2 = mongo.client.startSession()
  await mongo.db.collection('tx').insertOne({ a: 2 }, { session: s2 })
  await s2.endSession()
  t.equal(await mongo.db.collection('tx').countDocuments(), 1)
})

t.test('stop() closes client sockets', async (t) => {
  const s = await startEmbeddedMongo()
  const c = new MongoClient(s.uri, { serverSelectionTimeoutMS: 500 })
  await c.connect()
  await c.db('x').command({ ping: 1 })
  await s.stop()
  await s.stop() // idempotent
  const err = await c.db('x').command({ ping: 1 }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof Error, 'server gone')
  await c.close()
})
