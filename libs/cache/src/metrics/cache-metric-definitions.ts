import type { BreakerState } from '../engine/store-guard';
import type { CacheStatsSnapshot } from './cache-stats';

/**
 * The metrics of the cache, in one table that both exporters (Prometheus, OpenTelemetry) and docs/observability.md
 * follow. Labels are bounded: policy, tier, reason, origin, handler; never the key. Names get the exporter's prefix
 * (default `nest_cache_`); Prometheus counters end in `_total`.
 */

/** Labels of one sample. */
export type MetricLabels = Readonly<Record<string, string>>;

/** A counter or gauge read from a {@link CacheStatsSnapshot} when the metrics are collected. */
export interface SampledMetric {
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly help: string;
  readonly labels: readonly string[];
  readonly read: (snapshot: CacheStatsSnapshot, sample: (labels: MetricLabels, value: number) => void) => void;
}

/** Breaker state as a gauge value: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/** The loader duration histogram (observed per load, not sampled). */
export const LOAD_DURATION = {
  name: 'load_duration_seconds',
  help: 'Loader call duration in seconds, failed calls included',
  labels: ['policy'],
  /** From 1 ms to 10 s. */
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
} as const;

const perPolicy =
  (value: (policy: CacheStatsSnapshot['policies'][number]) => number) =>
  (snapshot: CacheStatsSnapshot, sample: (labels: MetricLabels, value: number) => void) => {
    for (const stats of snapshot.policies) sample({ policy: stats.policy }, value(stats));
  };

/** Every counter and gauge, in the order they are documented. */
export const SAMPLED_METRICS: readonly SampledMetric[] = [
  {
    name: 'hits',
    kind: 'counter',
    help: 'Fresh values served from the cache, by tier (l1: in-process, l2: shared store)',
    labels: ['policy', 'tier'],
    read: (snapshot, sample) => {
      for (const { policy, hits } of snapshot.policies) {
        sample({ policy, tier: 'l1' }, hits.l1);
        sample({ policy, tier: 'l2' }, hits.l2);
      }
    },
  },
  { name: 'misses', kind: 'counter', help: 'Calls that waited for a load (their own or one they joined)', labels: ['policy'], read: perPolicy((p) => p.misses) },
  {
    name: 'stale_served',
    kind: 'counter',
    help: 'Stale values served (stale-while-revalidate, soft loader timeout, grace after a loader failure)',
    labels: ['policy'],
    read: perPolicy((p) => p.stale),
  },
  {
    name: 'refreshes',
    kind: 'counter',
    help: 'Background refreshes started, by reason (early: XFetch before expiry, revalidate: stale-while-revalidate)',
    labels: ['policy', 'reason'],
    read: (snapshot, sample) => {
      for (const { policy, refreshes } of snapshot.policies) {
        sample({ policy, reason: 'early' }, refreshes.early);
        sample({ policy, reason: 'revalidate' }, refreshes.revalidate);
      }
    },
  },
  { name: 'loads', kind: 'counter', help: 'Loader calls, failed ones included', labels: ['policy'], read: perPolicy((p) => p.loads) },
  { name: 'load_errors', kind: 'counter', help: 'Loader calls that threw', labels: ['policy'], read: perPolicy((p) => p.loadErrors) },
  { name: 'lock_waits', kind: 'counter', help: "Waits for another process's load (distributed lock)", labels: ['policy'], read: perPolicy((p) => p.lockWaits) },
  {
    name: 'skipped',
    kind: 'counter',
    help: 'Values not cached, by reason (too-big: over maxBytes, not-encodable: refused by the codec)',
    labels: ['policy', 'reason'],
    read: (snapshot, sample) => {
      for (const { policy, skipped } of snapshot.policies) {
        sample({ policy, reason: 'too-big' }, skipped.tooBig);
        sample({ policy, reason: 'not-encodable' }, skipped.notEncodable);
      }
    },
  },
  { name: 'bad_entries', kind: 'counter', help: 'Stored entries that did not decode and were deleted', labels: ['policy'], read: perPolicy((p) => p.badEntries) },
  {
    name: 'store_errors',
    kind: 'counter',
    help: 'Store (Redis) calls that failed or timed out; the caller was served without the store',
    labels: [],
    read: (snapshot, sample) => sample({}, snapshot.store.errors),
  },
  { name: 'store_timeouts', kind: 'counter', help: 'Store (Redis) calls that timed out (also counted in store_errors)', labels: [], read: (snapshot, sample) => sample({}, snapshot.store.timeouts) },
  {
    name: 'bus_invalidations',
    kind: 'counter',
    help: 'Invalidations sent to other instances (origin local) and received from them (origin remote)',
    labels: ['origin'],
    read: (snapshot, sample) => {
      sample({ origin: 'local' }, snapshot.bus.invalidationsLocal);
      sample({ origin: 'remote' }, snapshot.bus.invalidationsRemote);
    },
  },
  { name: 'bus_reconnects', kind: 'counter', help: 'Bus reconnections (each empties the L1 tier)', labels: [], read: (snapshot, sample) => sample({}, snapshot.bus.reconnects) },
  {
    name: 'breaker_state',
    kind: 'gauge',
    help: 'Circuit breaker of the store: 0 closed, 1 half-open, 2 open (store bypassed)',
    labels: [],
    read: (snapshot, sample) => sample({}, BREAKER_STATE_VALUE[snapshot.breaker]),
  },
  { name: 'bus_subscribed', kind: 'gauge', help: '1 when the invalidation bus is subscribed, else 0', labels: [], read: (snapshot, sample) => sample({}, snapshot.busSubscribed ? 1 : 0) },
  { name: 'l1_entries', kind: 'gauge', help: 'Entries in the in-process (L1) tier, all policies', labels: [], read: (snapshot, sample) => sample({}, snapshot.l1Entries) },
  {
    name: 'write_behind_fallbacks',
    kind: 'counter',
    help: '@WriteBehind writes written through instead of queued, by reason (length: maxLength, lag: maxLag, unavailable: Redis did not answer)',
    labels: ['policy', 'reason'],
    read: (snapshot, sample) => {
      for (const { policy, writeBehindFallbacks } of snapshot.policies) {
        for (const [reason, count] of Object.entries(writeBehindFallbacks)) sample({ policy, reason }, count);
      }
    },
  },
  {
    name: 'write_behind_dead_lettered',
    kind: 'counter',
    help: 'Write-behind entries this instance moved to the dead-letter stream after maxDeliveries, by flush handler',
    labels: ['handler'],
    read: (snapshot, sample) => {
      for (const [handler, count] of Object.entries(snapshot.writeBehind.deadLettered)) sample({ handler }, count);
    },
  },
  ...writeBehindQueueGauges([
    ['write_behind_queue_length', 'Writes in the write-behind queue, not yet flushed', (queue) => queue.length],
    ['write_behind_pending', 'Write-behind entries handed to a flusher and not yet acknowledged', (queue) => queue.pending],
    ['write_behind_lag_seconds', 'Age of the oldest write not yet flushed, in seconds (0 when the queue is empty)', (queue) => queue.lagMs / 1000],
    ['write_behind_dead_letters', 'Entries waiting in the write-behind dead-letter stream, to be replayed or discarded', (queue) => queue.deadLetters],
  ]),
];

/** Gauges of the write-behind queue sample; no sample (nothing exported) until a flusher here took one. */
function writeBehindQueueGauges(
  gauges: ReadonlyArray<readonly [name: string, help: string, value: (queue: NonNullable<CacheStatsSnapshot['writeBehind']['queue']>) => number]>,
): SampledMetric[] {
  return gauges.map(([name, help, value]) => ({
    name,
    kind: 'gauge',
    help,
    labels: [],
    read: (snapshot, sample) => {
      if (snapshot.writeBehind.queue) sample({}, value(snapshot.writeBehind.queue));
    },
  }));
}
