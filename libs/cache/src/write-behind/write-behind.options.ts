import { InvalidOptionsError } from '../cache.errors';
import { type Duration, parseDuration } from '../options/duration';
import type { WriteBehindFlushFn } from './write-behind.handler';

/**
 * `CacheModule.forRoot({ writeBehind: { ... } })`: where queued writes go and how hard the queue may be pushed.
 * @example writeBehind: { handlers: { viewCounts: (writes) => repo.upsertMany(writes) }, maxLength: 10_000, maxLag: '30s' }
 */
export interface WriteBehindOptions {
  /**
   * Flush handlers by name, for handlers that need no injection. Providers decorated with `@WriteBehindHandler(name)`
   * are found as well. `@WriteBehind({ flush })` names one of them; an unknown name fails start-up.
   */
  handlers?: Record<string, WriteBehindFlushFn>;
  /** Whether this instance runs a flusher (one instance at a time flushes; the others stand by). Default true. */
  flusher?: boolean;
  /** Most writes waiting in the queue; past it, callers write through (the handler runs in the call). Default 10,000. */
  maxLength?: number;
  /** Oldest a waiting write may be; past it, callers write through. Default '30s'. */
  maxLag?: Duration;
  /** Queue entries read (and coalesced) per batch. Default 100. */
  batchSize?: number;
  /** How long an entry delivered to a flusher may stay unacknowledged before another flusher reclaims it. Default '30s'. */
  claimIdle?: Duration;
  /** How long one blocking read of the queue waits for new entries. Default '1s'. */
  block?: Duration;
  /** Lease of the flusher that is allowed to flush, renewed while it lives. Default '5s'. */
  leaderTtl?: Duration;
  /** Pause before a batch whose handler failed is tried again. Default '1s'. */
  retryDelay?: Duration;
  /**
   * How many times an entry is handed to its handler before it is moved to the dead-letter stream (the queue's
   * delivery count: every read, retry and reclaim). Default 5.
   */
  maxDeliveries?: number;
  /**
   * How often a flusher reads the queue's length, pending count, lag and dead letters for the `writeBehindQueue`
   * event (and the metrics built on it); only while something listens. Default '5s'.
   */
  sampleInterval?: Duration;
}

/** {@link WriteBehindOptions} after normalisation, durations in milliseconds. */
export interface NormalizedWriteBehindOptions {
  readonly handlers: Readonly<Record<string, WriteBehindFlushFn>>;
  readonly flusher: boolean;
  readonly maxLength: number;
  readonly maxLagMs: number;
  readonly batchSize: number;
  readonly claimIdleMs: number;
  readonly blockMs: number;
  readonly leaderTtlMs: number;
  readonly retryDelayMs: number;
  readonly maxDeliveries: number;
  readonly sampleIntervalMs: number;
}

/** Validates the `writeBehind` option; every problem names its path. */
export function normalizeWriteBehindOptions(options: WriteBehindOptions = {}): NormalizedWriteBehindOptions {
  const handlers = options.handlers ?? {};
  for (const [name, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') throw new InvalidOptionsError(`writeBehind.handlers.${name}`, 'must be a function of the writes');
  }
  const count = (value: number | undefined, fallback: number, path: string) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value <= 0) throw new InvalidOptionsError(`writeBehind.${path}`, 'must be a positive whole number');
    return value;
  };
  const duration = (value: Duration | undefined, fallback: number, path: string) => {
    if (value === undefined) return fallback;
    const ms = parseDuration(value, `writeBehind.${path}`);
    if (ms <= 0) throw new InvalidOptionsError(`writeBehind.${path}`, 'must be longer than 0');
    return ms;
  };
  const normalized = {
    handlers: { ...handlers },
    flusher: options.flusher ?? true,
    maxLength: count(options.maxLength, 10_000, 'maxLength'),
    maxLagMs: duration(options.maxLag, 30_000, 'maxLag'),
    batchSize: count(options.batchSize, 100, 'batchSize'),
    claimIdleMs: duration(options.claimIdle, 30_000, 'claimIdle'),
    blockMs: duration(options.block, 1_000, 'block'),
    leaderTtlMs: duration(options.leaderTtl, 5_000, 'leaderTtl'),
    retryDelayMs: duration(options.retryDelay, 1_000, 'retryDelay'),
    maxDeliveries: count(options.maxDeliveries, 5, 'maxDeliveries'),
    sampleIntervalMs: duration(options.sampleInterval, 5_000, 'sampleInterval'),
  };
  if (normalized.batchSize > 1_000) throw new InvalidOptionsError('writeBehind.batchSize', 'must be at most 1000');
  if (normalized.blockMs >= normalized.leaderTtlMs / 2) {
    throw new InvalidOptionsError('writeBehind.block', `must be shorter than half of leaderTtl (${normalized.leaderTtlMs} ms)`);
  }
  return normalized;
}
