import { Inject, Injectable } from '@nestjs/common';
import { CACHE_OPTIONS } from './cache.constants';
import { CacheEngine } from './engine/cache-engine';
import { type KeyResult, qualifyKey, renderKey } from './keys/key-builder';
import type { NormalizedCacheOptions } from './options/normalize-options';
import { type Duration, parseDuration } from './options/duration';

/** Which policy (and optionally which TTL) a {@link CacheService} call uses. */
export interface CacheCallOptions {
  /** Name of a registered policy. Default: the module's default policy. */
  policy?: string;
  /** Overrides the policy's TTL for this call. */
  ttl?: Duration;
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
  ) {}

  /** The cached value, or undefined on a miss (or when the policy never caches). */
  async get<T>(key: KeyResult, options: CacheCallOptions = {}): Promise<T | undefined> {
    return this.engine.get<T>(this.keyOf(key), this.options.policies.resolve(options.policy));
  }

  /** Caches a value; resolves to whether it was stored (see {@link CacheEngine.set}). */
  async set(key: KeyResult, value: unknown, options: CacheCallOptions = {}): Promise<boolean> {
    return this.engine.set(this.keyOf(key), value, this.options.policies.resolve(options.policy), this.ttlOf(options));
  }

  /** The cached value, else the loader's (cached for next time). Concurrent misses share one loader call. */
  async getOrSet<T>(key: KeyResult, loader: () => Promise<T> | T, options: CacheCallOptions = {}): Promise<T> {
    const policy = this.options.policies.resolve(options.policy);
    return (await this.engine.getOrLoad(this.keyOf(key), policy, loader, { ttlMs: this.ttlOf(options) })).value;
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

  /** Milliseconds until a key expires, or undefined when it is not cached. */
  async remainingTtl(key: KeyResult): Promise<number | undefined> {
    return this.engine.remainingTtl(this.keyOf(key));
  }

  /** The full key (namespace included) that a relative key maps to, e.g. for redis-cli. */
  keyOf(key: KeyResult): string {
    return qualifyKey(this.options.namespace, renderKey(key), this.options.maxKeyLength);
  }

  private ttlOf(options: CacheCallOptions): number | undefined {
    return options.ttl === undefined ? undefined : parseDuration(options.ttl, 'ttl');
  }
}
