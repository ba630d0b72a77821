// Phase 5's subscribers in a process of their own (forked by the benchmark, IPC to talk), so
// reading thousands of streams never stalls the load generator's event loop: the holds/s
// ratio then measures the service, not the benchmark. Messages:
//   ← { open: { bases, showId, n, mongoUri? } }   → { opened: count }
//   ← { finish: { final: [[seatId, status], …] } } → { result: { subscribers, ended, missed, lags, catchUpMs } }
import { MongoClient } from 'mongodb'
import { openSubscribers, watchCommits, type CommitLog, type Subscribers } from './streams.js'

type Status = 'AVAILABLE' | 'HELD' | 'BOOKED'
interface OpenMessage { open: { bases: string[], showId: string, n: number, mongoUri?: string, dbName?: string } }
interface FinishMessage { finish: { final: Array<[string, Status]> } }

const CATCH_UP_MS = 30_000

let subscribers: Subscribers | undefined
let commits: CommitLog | undefined
let mongo: MongoClient | undefined

process.on('message', (message: OpenMessage | FinishMessage) => {
  void (async () => {
    try {
      if ('open' in message) {
        const { bases, showId, n, mongoUri, dbName } = message.open
        if (mongoUri !== undefined) {
          mongo = new MongoClient(mongoUri)
          await mongo.connect()
          commits = await watchCommits(mongo.db(dbName)).catch(() => undefined)
        }
        subscribers = await openSubscribers(bases, showId, n)
        process.send?.({ opened: subscribers.count() })
      } else if (subscribers !== undefined) {
        const final = new Map(message.finish.final)
        // Streams may still be delivering the last changes (a loaded machine): wait for them to
        // catch up, up to CATCH_UP_MS; what is still wrong then is missed.
        const started = Date.now()
        let missed = subscribers.missedChanges(final)
        while (missed > 0 && Date.now() - started < CATCH_UP_MS) {
          await new Promise((resolve) => setTimeout(resolve, 1000))
          missed = subscribers.missedChanges(final)
        }
        const catchUpMs = Date.now() - started
        const lags = commits !== undefined ? subscribers.lags(commits) : []
        const ended = subscribers.ended()
        subscribers.close()
        await commits?.stop()
        await mongo?.close()
        process.send?.({ result: { subscribers: subscribers.count(), ended, missed, lags, catchUpMs } })
      }
    } catch (error) {
      process.send?.({ error: error instanceof Error ? error.message : String(error) })
    }
  })()
})
process.on('disconnect', () => process.exit(0))
