import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { CacheEngine } from '../engine/cache-engine';
import { CacheConnections } from '../stores/cache-connections';

/** Options of {@link CacheHealthIndicator.isHealthy}. */
export interface CacheHealthOptions {
  /** How long Redis may take to answer PING, in milliseconds. Default 1000. */
  timeoutMs?: number;
}

/** What the indicator reports under its key, up or down. */
export interface CacheHealthDetails extends Record<string, unknown> {
  /** The shared store: `redis`, or the in-process store's name. */
  readonly store: string;
  /** Whether Redis answered PING within the timeout; `n/a` on the in-process store. */
  readonly redis: 'up' | 'down' | 'n/a';
  /** Milliseconds PING took, when it answered. */
  readonly pingMs?: number;
  /** Whether the invalidation bus is subscribed. */
  readonly bus: 'subscribed' | 'disconnected';
  readonly breaker: string;
  /** Why it is down, when it is. */
  readonly message?: string;
}

/**
 * A @nestjs/terminus health indicator for the cache: up when Redis answers PING through the module's own connection
 * within the timeout (the in-process store is always reachable), the invalidation bus is subscribed, and the store's
 * circuit breaker is closed. Imported from the `health` entry point, so that terminus stays an optional peer.
 * @example
 * check = () => this.health.check([() => this.cache.isHealthy('cache', { timeoutMs: 500 })]);
 */
@Injectable()
export class CacheHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly connections: CacheConnections,
    private readonly engine: CacheEngine,
  ) {}

  async isHealthy<const Key extends string = 'cache'>(key: Key = 'cache' as Key, options: CacheHealthOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    const details = await this.inspect(options.timeoutMs ?? 1_000);
    const problems = [
      details.redis === 'down' ? `Redis did not answer PING within ${options.timeoutMs ?? 1_000} ms` : undefined,
      details.bus === 'disconnected' ? 'invalidation bus not subscribed' : undefined,
      details.breaker !== 'closed' ? `circuit breaker ${details.breaker}` : undefined,
    ].filter((problem) => problem !== undefined);
    return problems.length === 0 ? indicator.up(details) : indicator.down({ ...details, message: problems.join('; ') });
  }

  private async inspect(timeoutMs: number): Promise<CacheHealthDetails> {
    const bus = this.connections.bus.subscribed ? 'subscribed' : 'disconnected';
    const breaker = this.engine.breakerState;
    const client = this.connections.redis?.client;
    if (!client) return { store: this.connections.store.name, redis: 'n/a', bus, breaker };
    const started = performance.now();
    const answered = await withTimeout(client.ping(), timeoutMs);
    const redis = answered ? 'up' : 'down';
    return { store: 'redis', redis, ...(answered ? { pingMs: Math.round((performance.now() - started) * 10) / 10 } : {}), bus, breaker };
  }
}

/** Whether `promise` resolved within `ms` (a rejection counts as no). */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
