import type { Agenda } from 'agenda'
import type { FastifyBaseLogger } from 'fastify'

/** The parts of Agenda 6's internal job queue this module reads (JobProcessingQueue, not exported). */
interface QueuedJob { attrs: { name: string, _id?: unknown } }
interface JobQueue {
  _queue: QueuedJob[]
  agenda: { definitions: Record<string, { concurrency?: number } | undefined> }
  returnNextConcurrencyFreeJob: (jobStatus: JobStatus, handledJobs: unknown[]) => QueuedJob | undefined
}
type JobStatus = Record<string, { running: number } | undefined>

/** What one chain of Agenda's jobProcessing calls has handled, as a set kept level with its array. */
const handledSets = new WeakMap<unknown[], { ids: Set<unknown>, seen: number }>()

/**
 * Agenda's choice of the next job to run, in linear time. The same answer as Agenda's own
 * `returnNextConcurrencyFreeJob`: from the queue's right end (the next due), the first job whose
 * definition exists, that this processing chain has not handled yet, and whose name is below its
 * concurrency.
 */
export function nextConcurrencyFreeJob (this: JobQueue, jobStatus: JobStatus, handledJobs: unknown[]): QueuedJob | undefined {
  let handled = handledSets.get(handledJobs)
  if (handled === undefined) {
    handled = { ids: new Set(), seen: 0 }
    handledSets.set(handledJobs, handled)
  }
  // The chain only ever pushes to its array: add what is new since the last call.
  while (handled.seen < handledJobs.length) handled.ids.add(handledJobs[handled.seen++])
  const queue = this._queue
  for (let i = queue.length - 1; i >= 0; i--) {
    const job = queue[i]
    const def = this.agenda.definitions[job.attrs.name]
    if (def === undefined || handled.ids.has(job.attrs._id)) continue
    const status = jobStatus[job.attrs.name]
    const limit = def.concurrency ?? 0 // 0: no limit
    if (status === undefined || limit === 0 || status.running < limit) return job
  }
  return undefined
}

/**
 * Replaces, on this Agenda's own queue, the method that picks the next job. Agenda 6.2.6's scans
 * the whole queue through `Object.keys(queue).reverse()` and, per job, `handledJobs.includes(id)`
 * over every job the current processing chain has run: quadratic in the jobs locked ahead. With
 * 2,000 holds lapsing together about 2,000 jobs are queued at once, and a CPU profile of the
 * bench's large expiry phase put 5.5 s of the service's main thread in that scan (8 % of the
 * phase, all of it inside the seconds the holds lapse in, while their expiry waits). No release
 * of Agenda fixes it (6.2.6 is the latest), and the queue is not exported: it is reached through
 * the started Agenda's `jobProcessor`, and left alone (with a warning) if its shape has changed.
 * Call after `agenda.start()`.
 */
export function speedUpJobQueue (agenda: Agenda, log: FastifyBaseLogger): boolean {
  const queue = (agenda as unknown as { jobProcessor?: { jobQueue?: Partial<JobQueue> } }).jobProcessor?.jobQueue
  if (queue === undefined || !Array.isArray(queue._queue) || typeof queue.returnNextConcurrencyFreeJob !== 'function' ||
    typeof queue.agenda?.definitions !== 'object') {
    log.warn('Agenda\'s job queue is not the one this version knows: its own job choice stays (quadratic in queued jobs)')
    return false
  }
  queue.returnNextConcurrencyFreeJob = nextConcurrencyFreeJob
  return true
}
