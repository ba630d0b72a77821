import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** One registry per app instance, so tests can build many apps in one process. */
export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'modex_' })
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] })
  return {
    registry,
    holds: counter('modex_holds_total', 'holds made (bookings created PENDING)'),
    conflicts: counter('modex_hold_conflicts_total', 'holds refused because a seat was taken'),
    refusedFromMemory: counter('modex_hold_conflicts_from_memory_total', 'of those, refused from this instance\'s seat map without a claim (a seat it shows booked, or held well before its end)'),
    claimsSkipped: counter('modex_claims_skipped_from_memory_total', 'seat claims not sent: another claim of the seat by this instance came back while it waited, or this instance\'s seat map showed the seat booked or held well before its end (the hold is refused, its earlier claims given back; a hold of several seats found so before claiming any counts once)'),
    confirmations: counter('modex_confirmations_total', 'bookings confirmed'),
    cancellations: counter('modex_cancellations_total', 'bookings cancelled'),
    expirations: counter('modex_expirations_total', 'holds expired (booking FAILED, seats released)'),
    recoveries: counter('modex_recoveries_total', 'seats settled by the recovery sweep'),
    jobsCancelled: new Counter({
      name: 'modex_jobs_cancelled_total',
      help: 'Agenda jobs cut off because they outlived their lock (their work may be left half-done)',
      labelNames: ['job'],
      registers: [registry]
    }),
    dbCommands: new Counter({
      name: 'modex_db_commands_total',
      help: 'MongoDB commands this instance sent on its pooled connections, by command name',
      labelNames: ['command'],
      registers: [registry]
    }),
    holdLatency: new Histogram({
      name: 'modex_hold_duration_seconds',
      help: 'time to answer a hold, successful or refused',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry]
    }),
    liveSource: new Gauge({ name: 'modex_live_source', help: 'where live seat maps come from on this instance (1 for the one in use)', labelNames: ['source'], registers: [registry] }),
    liveStreams: new Gauge({ name: 'modex_live_streams', help: 'open live seat-map streams (SSE) on this instance', registers: [registry] }),
    liveEvents: new Counter({
      name: 'modex_live_events_sent_total',
      help: 'live seat-map events written to subscribers, by event type',
      labelNames: ['event'],
      registers: [registry]
    }),
    liveDroppedClients: counter('modex_live_dropped_slow_clients_total', 'live seat-map subscribers disconnected for reading too slowly'),
    liveLag: new Histogram({
      name: 'modex_live_lag_seconds',
      help: 'from a change\'s commit (its wall clock time in the change stream; the previous poll when polling) to its send to subscribers',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry]
    }),
    httpDuration: new Histogram({
      name: 'modex_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry]
    })
  }
}
export type Metrics = ReturnType<typeof createMetrics>
