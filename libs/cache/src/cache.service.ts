import { Inject, Injectable } from '@nestjs/common';
import { CACHE_OPTIONS } from './cache.constants';
import { CacheEngine, valueOnly } from './engine/cache-engine';
import { type KeyResult, keyScope, qualifyKey, renderKey } from './keys/key-builder';
import type { NormalizedCacheOptions } from './options/normalize-options';
import { WriteBehindQueue } from './write-behind/write-behind.queue';
import { type Duration, parseDuration } from './options/duration';

/** Which policy (and optionally which TTL) a {@link CacheService} call uses. */
export interface CacheCallOptions {
  /** Name of a registered policy. Default: the module's default policy. */
  policy?: string;
  /** Overrides the policy's TTL for this call. */
  ttl?: Duration;
}

/** Where a key is cached, for how long and how big: what an admin endpoint shows. */
export interface CacheKeyInfo {
  /** The full key, namespace included. */
  readonly key: string;
  /** The fastest tier holding it: `l1` (in-process, this instance), `l2` (the shared store), or `none`. */
  readonly tier: 'l1' | 'l2' | 'none';
  /** Milliseconds until the shared store drops it (stale retention included); undefined when it is not there. */
  readonly ttlMs: number | undefined;
  /** Size of the encoded entry in bytes; undefined when it is cached nowhere. */
  readonly sizeBytes: number | undefined;
}

/**
 * The caching engine for code that does not use decorators. Keys are relative to the module's namespace and are
 * made safe like decorator keys: pass parts (`['credential', id]`) or a `:`-separated string.
 * @example
 * const settings = await cache.getOrSet(['org', orgId, 'settings'], () => repo.loadSettings(orgId), { policy: 'orgSettings' });
 */
@Injectable()
export class CacheService {
  constructor(
    private readonly engine: CacheEngine,
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    private readonly writeBehindQueue: WriteBehindQueue,
  ) {}

  /** The cached value, or undefined on a miss (or when the policy never caches). */
  async get<T>(key: KeyResult, options: CacheCallOptions = {}): Promise<T | undefined> {
    return this.engine.get<T>(this.keyOf(key), this.options.policies.resolve(options.policy));
  }

  /**
   * Replaces the cached value. Resolves to whether it was stored; when it was not (never-cache policy, a value that
   * cannot be cached, a store failure), the key is deleted so no older value survives.
   */
  async set(key: KeyResult, value: unknown, options: CacheCallOptions = {}): Promise<boolean> {
    return this.engine.writeThrough(this.keyOf(key), value, this.options.policies.resolve(options.policy), this.ttlOf(options));
  }

  /**
   * The cached value, else the loader's (cached for next time). Concurrent misses share one loader call. With
   * `@WriteBehind` in use, a miss on a key with a queued write answers with that write, not the older database row.
   */
  async getOrSet<T>(
    key: KeyResult,
    loader: () => Promise<T> | T,
    options: CacheCallOptions & { tags?: readonly string[] | ((value: T) => readonly string[]) } = {},
  ): Promise<T> {
    const policy = this.options.policies.resolve(options.policy);
    const { tags } = options;
    const qualified = this.keyOf(key);
    const loadOptions = { ttlMs: this.ttlOf(options), tags: tags === undefined ? undefined : typeof tags === 'function' ? tags : () => tags };
    return this.engine.getOrLoadAs(qualified, policy, this.writeBehindQueue.loaderFor(qualified, loader), loadOptions, valueOnly);
  }

  /** Deletes one key. Resolves to false if the store could not be reached. */
  async delete(key: KeyResult): Promise<boolean> {
    return this.engine.delete([this.keyOf(key)]);
  }

  /** Deletes several keys in one command where the store allows. Resolves to false if the store failed. */
  async deleteMany(keys: readonly KeyResult[]): Promise<boolean> {
    return this.engine.delete(keys.map((key) => this.keyOf(key)));
  }

  /**
   * Deletes a group: `key` itself and every key under `key:` (SCAN + UNLINK in batches), or, without a key, the whole
   * namespace. Resolves to the number of keys deleted, or -1 if the store failed.
   */
  async clear(key?: KeyResult): Promise<number> {
    return this.engine.deleteGroup(key === undefined ? undefined : this.keyOf(key));
  }

  /**
   * Event-based invalidation from anywhere: deletes `keys` and makes every entry carrying one of `tags` a miss, in
   * every instance. Resolves to false when the store could not be reached.
   * @example await cache.invalidate({ keys: [['credential', id]], tags: [`org:${orgId}`] });
   */
  async invalidate({ keys = [], tags = [] }: { keys?: readonly KeyResult[]; tags?: readonly string[] }): Promise<boolean> {
    const [deleted, invalidated] = await Promise.all([this.deleteMany(keys), this.engine.invalidateTags(tags)]);
    return deleted && invalidated;
  }

  /** Milliseconds until a key expires, or undefined when it is not cached. */
  async remainingTtl(key: KeyResult): Promise<number | undefined> {
    return this.engine.remainingTtl(this.keyOf(key));
  }

  /**
   * Where a key is cached (L1 of this instance, the shared store, or nowhere), its TTL left and its size, for
   * operators. Reads without changing the entry; a store that does not answer in time counts as not holding the key.
   */
  async inspect(key: KeyResult): Promise<CacheKeyInfo> {
    const fullKey = this.keyOf(key);
    return { key: fullKey, ...(await this.engine.inspect(fullKey)) };
  }

  /** The full key (namespace included) that a relative key maps to, e.g. for redis-cli. */
  keyOf(key: KeyResult): string {
    return qualifyKey(keyScope(this.options.namespace, this.options.tenant?.()), renderKey(key), this.options.maxKeyLength);
  }

  private ttlOf(options: CacheCallOptions): number | undefined {
    return options.ttl === undefined ? undefined : parseDuration(options.ttl, 'ttl');
  }
}
