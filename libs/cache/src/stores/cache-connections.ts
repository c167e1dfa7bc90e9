import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { CACHE_OPTIONS } from '../cache.constants';
import type { CacheBus } from '../bus/cache-bus.interface';
import { LocalBus } from '../bus/local.bus';
import { RedisBus } from '../bus/redis.bus';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import type { CacheStore } from './cache-store.interface';
import { MemoryStore } from './memory.store';
import { checkRedisMemory } from './redis-config-check';
import { describeConnection, openRedisConnection, type RedisConnection, waitUntilReady } from './redis-connection';
import { RedisStore } from './redis.store';

/** How long start-up waits for Redis before serving from loaders while it keeps trying. */
const STARTUP_READY_TIMEOUT_MS = 3_000;
/** How long shutdown waits for the socket of a connection it closed to report the end. */
const SHUTDOWN_CLOSE_TIMEOUT_MS = 1_000;

/**
 * Owns the module's connections: opens the one the options describe (or adopts the one given), builds the shared
 * store and the bus on it, and on shutdown closes the bus's subscriber and only the connections it opened.
 */
@Injectable()
export class CacheConnections implements OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  /** The shared (L2) store. */
  readonly store: CacheStore;
  /** The bus between instances sharing the store (in-process when there is no Redis). */
  readonly bus: CacheBus;
  /** The Redis connection, when the store is Redis. */
  readonly redis: RedisConnection | undefined;

  constructor(@Inject(CACHE_OPTIONS) options: NormalizedCacheOptions) {
    this.redis = options.redis === undefined ? undefined : openRedisConnection(options.redis);
    this.store = options.store ?? (this.redis ? new RedisStore(this.redis.client) : new MemoryStore());
    this.bus = this.redis ? new RedisBus(this.redis.client, options.namespace) : new LocalBus();
  }

  /**
   * Waits (briefly) for Redis at start-up and says in one line where the cache lives: namespace, policies, tiers and
   * the Redis memory settings. Warns once when those settings do not suit a cache (see {@link checkRedisMemory}).
   */
  async ready(options: NormalizedCacheOptions): Promise<void> {
    const summary = describeSetup(options, this.store.name);
    if (!this.redis) {
      this.logger.log(`cache on the ${this.store.name} store (not shared between processes); ${summary}`);
      return;
    }
    const where = describeConnection(this.redis.client);
    if (!(await waitUntilReady(this.redis.client, STARTUP_READY_TIMEOUT_MS))) {
      const reason = this.redis.lastError();
      this.logger.warn(`Redis ${where} not answering${reason ? ` (${reason})` : ''}; serving from loaders until it does; ${summary}`);
      return;
    }
    const memory = await checkRedisMemory(this.redis.client, (reason) =>
      this.logger.debug(`Redis memory settings not readable (${reason}); skipping the maxmemory check`),
    );
    if (memory?.warning) this.logger.warn(memory.warning);
    this.logger.log(`cache on Redis ${where}${memory ? ` (${memory.summary})` : ''}; ${summary}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
    if (!this.redis?.owned) return;
    const client = this.redis.client;
    // Not connected: there is no socket to close politely, and QUIT would only fail; stop reconnecting instead.
    if (client.status !== 'ready') return client.disconnect();
    // quit() resolves on the server's OK, before the socket closes: wait for 'end' so that once app.close()
    // resolves the connection really is closed (bounded, in case the socket never reports it).
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SHUTDOWN_CLOSE_TIMEOUT_MS);
      timer.unref();
      client.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await client.quit().catch(() => client.disconnect());
    await ended;
  }
}

/** `namespace "certs", policies: a, b (never cached: c); tiers: L2 redis, L1 (in-process) for a; immutable: b`. */
function describeSetup(options: NormalizedCacheOptions, storeName: string): string {
  const policies = options.policies.names.map((name) => options.policies.resolve(name));
  const cached = policies.filter((policy) => policy.cache).map((policy) => policy.name);
  const never = policies.filter((policy) => !policy.cache).map((policy) => policy.name);
  const withL1 = policies.filter((policy) => policy.cache && policy.l1).map((policy) => policy.name);
  if (options.policies.defaultPolicy.l1 && !withL1.includes(options.policies.defaultPolicy.name)) withL1.push(`${options.policies.defaultPolicy.name} (default)`);
  const tiers = [`L2 ${storeName}`, ...(withL1.length ? [`L1 (in-process) for ${withL1.join(', ')}`] : [])];
  // Callers of these get shared frozen values: worth seeing at start-up when a write to one throws.
  const immutable = policies.filter((policy) => policy.cache && policy.immutable).map((policy) => policy.name);
  return (
    `namespace "${options.namespace}", policies: ${cached.join(', ') || '(default only)'}` +
    `${never.length ? ` (never cached: ${never.join(', ')})` : ''}; tiers: ${tiers.join(', ')}` +
    `${immutable.length ? `; immutable: ${immutable.join(', ')}` : ''}`
  );
}
