import type { Job } from 'agenda'

/**
 * Runs a job's work while renewing its lock (Agenda's `touch`) every `everyMs`. Agenda cuts off a
 * job that runs longer than its lock lifetime ("execution ... canceled"), and under load a sweep
 * or an expiry can: renewed, the lock stays short (a dead instance's jobs are soon free for
 * others) without cutting off live work. Work that finishes within `everyMs` costs no round trip.
 */
export async function whileLocked<T> (job: Job, everyMs: number, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    // touch() renews the lock in memory at once (what Agenda's own check reads), then in the
    // database; if that write fails, the next touch or the job's end settles it.
    job.touch().catch(() => undefined)
  }, everyMs)
  try {
    return await work()
  } finally {
    clearInterval(timer)
  }
}
