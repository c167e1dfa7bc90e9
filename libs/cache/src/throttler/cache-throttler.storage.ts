import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { CACHE_OPTIONS } from '../cache.constants';
import { safeSegment } from '../keys/key-builder';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import { CacheConnections } from '../stores/cache-connections';
import { MemorySlidingWindow } from './memory-sliding-window';
import { RedisSlidingWindow } from './redis-sliding-window';
import type { SlidingWindow, WindowDecision, WindowKeys } from './sliding-window';

/** What ThrottlerGuard expects back (the package does not export the record type from its entry point). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** Seconds a client is told to wait when a fail-closed limiter refuses it because Redis does not answer. */
const FAIL_CLOSED_RETRY_SECONDS = 1;

class ThrottlerTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`rate-limit check timed out after ${timeoutMs} ms`);
  }
}

/**
 * A @nestjs/throttler storage on the cache module's Redis connection and namespace: an exact sliding window (at
 * most `limit` hits in ANY interval of `ttl`), one atomic Lua call per hit, shared by every instance on the Redis,
 * Cluster-safe. Without Redis (the module on its in-process store) it limits in-process.
 *
 * Keys: `<namespace>:throttle:<throttlerName>:{<key>}` (a sorted set of hits) and `...:{<key>}:block`; the hash tag
 * keeps both in one Cluster slot. Redis outage: requests are let through and the outage is logged once (fail-open),
 * or refused with `throttler: { failClosed: true }` in the cache module's options.
 * @example
 * ThrottlerModule.forRootAsync({
 *   inject: [CacheThrottlerStorage],
 *   useFactory: (storage: CacheThrottlerStorage) => ({ throttlers: [{ ttl: 60_000, limit: 300 }], storage }),
 * })
 */
@Injectable()
export class CacheThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('CacheThrottler');
  private readonly window: SlidingWindow;
  private readonly prefix: string;
  private readonly failClosed: boolean;
  private readonly timeoutMs: number;
  /** Set while Redis is failing, so an outage is logged once when it starts and once when it ends. */
  private outage = false;

  constructor(connections: CacheConnections, @Inject(CACHE_OPTIONS) options: NormalizedCacheOptions) {
    this.window = connections.redis ? new RedisSlidingWindow(connections.redis.client) : new MemorySlidingWindow();
    this.prefix = `${options.namespace}:throttle`;
    this.failClosed = options.throttler.failClosed;
    this.timeoutMs = options.throttler.timeoutMs;
  }

  /** Where the limiter keeps its state: `redis` (shared between instances) or `memory` (this process only). */
  get storeName(): 'redis' | 'memory' {
    return this.window instanceof RedisSlidingWindow ? 'redis' : 'memory';
  }

  /**
   * Records one hit of `key` for `throttlerName` (called by ThrottlerGuard). `ttl` and `blockDuration` are in
   * milliseconds; the record's `timeToExpire` and `timeToBlockExpire` in seconds, as the guard's headers expect.
   */
  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const keys = this.keysOf(throttlerName, key);
    let decision: WindowDecision;
    try {
      decision = await this.withTimeout(this.window.hit(keys, ttl, limit, blockDuration));
    } catch (error) {
      return this.unavailable(error, ttl);
    }
    if (this.outage) {
      this.outage = false;
      this.logger.log('Redis answering again; rate limits enforced again');
    }
    return {
      totalHits: decision.hits,
      // The oldest hit leaves the window within `ttl`: clamp, so a clock step between two reads cannot report more
      // (or nothing, for a reset already due).
      timeToExpire: seconds(decision.resetMs > 0 ? Math.min(decision.resetMs, ttl) : ttl),
      isBlocked: !decision.allowed,
      timeToBlockExpire: decision.allowed ? 0 : Math.max(1, seconds(decision.retryMs)),
    };
  }

  /** The Redis keys of one client of one throttler. */
  keysOf(throttlerName: string, key: string): WindowKeys {
    const hits = `${this.prefix}:${safeSegment(throttlerName)}:{${safeSegment(key)}}`;
    return { hits, block: `${hits}:block` };
  }

  onApplicationShutdown(): void {
    if (this.window instanceof MemorySlidingWindow) this.window.close();
  }

  private unavailable(error: unknown, ttl: number): ThrottlerStorageRecord {
    if (!this.outage) {
      this.outage = true;
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(
        `Redis unavailable for rate limiting (${reason}); ${this.failClosed ? 'refusing every request (failClosed)' : 'letting every request through (fail-open)'} until it answers`,
      );
    }
    if (this.failClosed) return { totalHits: 0, timeToExpire: seconds(ttl), isBlocked: true, timeToBlockExpire: FAIL_CLOSED_RETRY_SECONDS };
    return { totalHits: 0, timeToExpire: seconds(ttl), isBlocked: false, timeToBlockExpire: 0 };
  }

  private async withTimeout<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ThrottlerTimeoutError(this.timeoutMs)), this.timeoutMs);
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
