import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { CacheBus } from '../bus/cache-bus.interface';
import { CACHE_BUS } from '../cache.constants';
import { CacheEngine } from '../engine/cache-engine';
import { type CacheEventMap, CacheEvents } from '../engine/cache-events';
import type { BreakerState } from '../engine/store-guard';

/**
 * Running totals of what the engine reported, per policy, kept as plain numbers so that the hit path costs one map
 * lookup and one increment. Exporters (Prometheus, OpenTelemetry) and dashboards read them when asked, never per call.
 * Counters only grow; labels are policy (and tier or reason), never the key, so their number stays bounded.
 */

/** How many recent loader durations per policy the percentiles are computed over. */
const RECENT_LOADS = 512;

/** The totals of one policy. */
export interface PolicyStats {
  readonly policy: string;
  readonly hits: { readonly l1: number; readonly l2: number };
  readonly misses: number;
  /** Stale values served (stale-while-revalidate, soft timeout, grace). */
  readonly stale: number;
  /** Refreshes no caller waited for, by reason. */
  readonly refreshes: { readonly early: number; readonly revalidate: number };
  /** Loader calls, failed ones included. */
  readonly loads: number;
  readonly loadErrors: number;
  /** Sum of loader durations, milliseconds. */
  readonly loadMsTotal: number;
  /** 50th and 99th percentile of the last loader durations (up to 512), milliseconds; undefined before any load. */
  readonly loadP50Ms: number | undefined;
  readonly loadP99Ms: number | undefined;
  /** Waits for another process's load (distributed lock). */
  readonly lockWaits: number;
  /** Values not cached, by reason. */
  readonly skipped: { readonly tooBig: number; readonly notEncodable: number };
  /** Stored entries that did not decode (deleted). */
  readonly badEntries: number;
  /** @WriteBehind writes written through instead of queued, by reason. */
  readonly writeBehindFallbacks: { readonly length: number; readonly lag: number; readonly unavailable: number };
}

/** Everything {@link CacheStats} knows at one instant. */
export interface CacheStatsSnapshot {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly breaker: BreakerState;
  readonly busSubscribed: boolean;
  /** Entries in the in-process (L1) tier, all policies together. */
  readonly l1Entries: number;
  /** Store calls that failed, timeouts included, and the timeouts among them. */
  readonly store: { readonly errors: number; readonly timeouts: number };
  /** Invalidations sent by this instance (local) and received from others (remote); bus reconnections. */
  readonly bus: { readonly invalidationsLocal: number; readonly invalidationsRemote: number; readonly reconnects: number };
  /** One entry per policy that has reported anything, by name. */
  readonly policies: readonly PolicyStats[];
  /**
   * Write-behind: the queue as this instance's flusher last sampled it (undefined until it did; every instance
   * running a flusher reports the same shared queue), and the entries this instance moved to the dead letters, by
   * handler.
   */
  readonly writeBehind: { readonly queue: CacheEventMap['writeBehindQueue'] | undefined; readonly deadLettered: Readonly<Record<string, number>> };
}

class PolicyCounters {
  hitsL1 = 0;
  hitsL2 = 0;
  misses = 0;
  stale = 0;
  refreshEarly = 0;
  refreshRevalidate = 0;
  loads = 0;
  loadErrors = 0;
  loadMsTotal = 0;
  lockWaits = 0;
  skippedTooBig = 0;
  skippedNotEncodable = 0;
  badEntries = 0;
  readonly writeBehindFallbacks = { length: 0, lag: 0, unavailable: 0 };
  private readonly recent = new Float64Array(RECENT_LOADS);
  private recentCount = 0;

  constructor(readonly policy: string) {}

  recordLoad(durationMs: number, failed: boolean): void {
    this.loads++;
    if (failed) this.loadErrors++;
    this.loadMsTotal += durationMs;
    this.recent[this.recentCount++ % RECENT_LOADS] = durationMs;
  }

  toStats(): PolicyStats {
    const durations = this.recent.slice(0, Math.min(this.recentCount, RECENT_LOADS)).sort();
    return {
      policy: this.policy,
      hits: { l1: this.hitsL1, l2: this.hitsL2 },
      misses: this.misses,
      stale: this.stale,
      refreshes: { early: this.refreshEarly, revalidate: this.refreshRevalidate },
      loads: this.loads,
      loadErrors: this.loadErrors,
      loadMsTotal: this.loadMsTotal,
      loadP50Ms: percentile(durations, 0.5),
      loadP99Ms: percentile(durations, 0.99),
      lockWaits: this.lockWaits,
      skipped: { tooBig: this.skippedTooBig, notEncodable: this.skippedNotEncodable },
      badEntries: this.badEntries,
      writeBehindFallbacks: { ...this.writeBehindFallbacks },
    };
  }
}

/**
 * Subscribes to {@link CacheEvents} and keeps the totals; provided by `CacheMetricsModule`.
 * @example
 * const { policies } = cacheStats.snapshot();
 */
@Injectable()
export class CacheStats implements OnModuleDestroy {
  private readonly byPolicy = new Map<string, PolicyCounters>();
  private storeErrors = 0;
  private storeTimeouts = 0;
  private invalidationsLocal = 0;
  private invalidationsRemote = 0;
  private busReconnects = 0;
  private writeBehindQueue: CacheEventMap['writeBehindQueue'] | undefined;
  private readonly deadLettered: Record<string, number> = {};
  private readonly unsubscribe: Array<() => void>;

  constructor(
    events: CacheEvents,
    private readonly engine: CacheEngine,
    @Inject(CACHE_BUS) private readonly bus: CacheBus,
  ) {
    this.unsubscribe = [
      events.on('hit', ({ policy, tier }) => {
        const counters = this.of(policy);
        if (tier === 'l1') counters.hitsL1++;
        else counters.hitsL2++;
      }),
      events.on('miss', ({ policy }) => void this.of(policy).misses++),
      events.on('stale', ({ policy }) => void this.of(policy).stale++),
      events.on('refresh', ({ policy, reason }) => {
        const counters = this.of(policy);
        if (reason === 'early') counters.refreshEarly++;
        else counters.refreshRevalidate++;
      }),
      events.on('load', ({ policy, durationMs, error }) => this.of(policy).recordLoad(durationMs, error !== undefined)),
      events.on('lockWait', ({ policy }) => void this.of(policy).lockWaits++),
      events.on('skipped', ({ policy, reason }) => {
        const counters = this.of(policy);
        if (reason === 'too-big') counters.skippedTooBig++;
        else counters.skippedNotEncodable++;
      }),
      events.on('badEntry', ({ policy }) => void this.of(policy).badEntries++),
      events.on('storeError', ({ timeout }) => {
        this.storeErrors++;
        if (timeout) this.storeTimeouts++;
      }),
      events.on('invalidation', ({ origin }) => {
        if (origin === 'local') this.invalidationsLocal++;
        else this.invalidationsRemote++;
      }),
      events.on('busReconnect', () => void this.busReconnects++),
      events.on('writeBehindFallback', ({ policy, reason }) => void this.of(policy).writeBehindFallbacks[reason]++),
      events.on('writeBehindDeadLetter', ({ handler, entries }) => void (this.deadLettered[handler] = (this.deadLettered[handler] ?? 0) + entries)),
      events.on('writeBehindQueue', (sample) => void (this.writeBehindQueue = sample)),
    ];
  }

  /** The current totals (percentiles computed now). */
  snapshot(): CacheStatsSnapshot {
    return {
      at: Date.now(),
      breaker: this.engine.breakerState,
      busSubscribed: this.bus.subscribed,
      l1Entries: this.engine.l1Size,
      store: { errors: this.storeErrors, timeouts: this.storeTimeouts },
      bus: { invalidationsLocal: this.invalidationsLocal, invalidationsRemote: this.invalidationsRemote, reconnects: this.busReconnects },
      policies: [...this.byPolicy.values()].sort((a, b) => a.policy.localeCompare(b.policy)).map((counters) => counters.toStats()),
      writeBehind: { queue: this.writeBehindQueue, deadLettered: { ...this.deadLettered } },
    };
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  private of(policy: string): PolicyCounters {
    let counters = this.byPolicy.get(policy);
    if (!counters) {
      counters = new PolicyCounters(policy);
      this.byPolicy.set(policy, counters);
    }
    return counters;
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, quantile: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)];
}
