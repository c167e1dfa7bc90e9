import { Inject, Injectable, Logger } from '@nestjs/common';
import { CACHE_OPTIONS, CACHE_STORE } from '../cache.constants';
import { CacheError } from '../cache.errors';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import type { ResolvedPolicy } from '../policies/resolved-policy';
import type { CacheStore } from '../stores/cache-store.interface';
import { type CacheEntry, decodeEntry, encodeEntry } from './cache-entry';
import { StoreGuard } from './store-guard';

/**
 * The caching algorithm, in one place: key -> policy -> store -> single-flight -> loader -> write.
 *
 * Invariants:
 * - A store failure never fails a call that the loader can answer; the loader's own errors always propagate.
 * - `undefined` is never cached; `null` only under the policy's negative TTL; a policy with `cache: false` never
 *   touches the store.
 * - Concurrent misses of one key in this process share one loader call, yet every caller gets its own copy.
 * - Bytes that do not decode are a miss and are deleted.
 */

/** How a value was obtained: from the cache, from the loader, or without the cache at all. */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** A value and how it was obtained. */
export interface CacheResult<T> {
  readonly value: T;
  readonly status: CacheStatus;
}

/** A loaded value, shared by the callers of one single-flight load. */
interface Flight {
  readonly value: unknown;
  /** The stored bytes, decoded again for every caller after the first so nobody shares a mutable object. */
  readonly bytes: Buffer | undefined;
}

@Injectable()
export class CacheEngine {
  private readonly logger = new Logger('Cache');
  private readonly guard: StoreGuard;
  private readonly flights = new Map<string, Promise<Flight>>();
  private readonly warned = new Set<string>();

  constructor(
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    @Inject(CACHE_STORE) store: CacheStore,
  ) {
    this.guard = new StoreGuard(store, this.logger);
  }

  /** The namespace every key of this engine lives under. */
  get namespace(): string {
    return this.options.namespace;
  }

  /**
   * Returns the fresh cached value of `key`, else loads it once (whatever the number of concurrent callers in this
   * process), caches it, and returns it.
   * @param key the full key, namespace included
   */
  async getOrLoad<T>(
    key: string,
    policy: ResolvedPolicy,
    load: () => Promise<T> | T,
    options: { ttlMs?: number; shouldCache?: (value: T) => boolean } = {},
  ): Promise<CacheResult<T>> {
    if (!policy.cache) return { value: await load(), status: 'BYPASS' };
    const entry = await this.read<T>(key, policy);
    if (entry) return { value: entry.value, status: 'HIT' };
    return { value: await this.loadOnce(key, policy, load, options), status: 'MISS' };
  }

  /** The fresh cached value of `key`, or undefined. */
  async get<T>(key: string, policy: ResolvedPolicy): Promise<T | undefined> {
    if (!policy.cache) return undefined;
    return (await this.read<T>(key, policy))?.value;
  }

  /**
   * Caches a value. Resolves to false when it was not stored (never-cache policy, undefined, null without a negative
   * TTL, a value the codec refuses, or a store failure).
   */
  async set(key: string, value: unknown, policy: ResolvedPolicy, ttlMs?: number): Promise<boolean> {
    if (!policy.cache) return false;
    return (await this.write(key, value, policy, 0, ttlMs)) !== undefined;
  }

  /**
   * Write-through after a successful database write: caches the new value, and when that fails for any reason
   * deletes the key, so the old value cannot outlive the write. Never throws.
   */
  async writeThrough(key: string, value: unknown, policy: ResolvedPolicy, ttlMs?: number): Promise<boolean> {
    if (!policy.cache) return false;
    if ((await this.write(key, value, policy, 0, ttlMs)) !== undefined) return true;
    await this.delete([key]);
    return false;
  }

  /** Deletes keys. Resolves to false when the store could not be reached. */
  async delete(keys: readonly string[]): Promise<boolean> {
    if (keys.length === 0) return true;
    return this.guard.run('delete', (store) => store.delete(keys).then(() => true), false);
  }

  /** Deletes every key that starts with `prefix` (SCAN + UNLINK in batches). Resolves to the count, or -1 on failure. */
  async deleteByPrefix(prefix: string): Promise<number> {
    return this.guard.run('deleteByPrefix', (store) => store.deleteByPrefix(prefix), -1);
  }

  /** Milliseconds until a key expires, or undefined when it is absent (or the store is unreachable). */
  async remainingTtl(key: string): Promise<number | undefined> {
    return this.guard.run('remainingTtl', (store) => store.remainingTtl(key), undefined);
  }

  private async read<T>(key: string, policy: ResolvedPolicy): Promise<CacheEntry<T> | undefined> {
    const bytes = await this.guard.run('get', (store) => store.get(key), undefined);
    if (!bytes) return undefined;
    let entry: CacheEntry<T>;
    try {
      entry = decodeEntry<T>(policy.codec, bytes);
    } catch (error) {
      this.warnOnce(`decode:${policy.name}`, `policy "${policy.name}": ${(error as CacheError).message}; entry deleted, treated as a miss`);
      await this.delete([key]);
      return undefined;
    }
    return entry.freshUntil > Date.now() ? entry : undefined;
  }

  /** Single-flight: the first caller runs the loader, later concurrent callers await it and decode their own copy. */
  private async loadOnce<T>(
    key: string,
    policy: ResolvedPolicy,
    load: () => Promise<T> | T,
    options: { ttlMs?: number; shouldCache?: (value: T) => boolean },
  ): Promise<T> {
    const pending = this.flights.get(key);
    if (pending) return this.copyOf<T>(await pending, policy);
    const flight = this.runLoader(key, policy, load, options);
    this.flights.set(key, flight);
    try {
      return (await flight).value as T;
    } finally {
      this.flights.delete(key);
    }
  }

  private async runLoader<T>(
    key: string,
    policy: ResolvedPolicy,
    load: () => Promise<T> | T,
    options: { ttlMs?: number; shouldCache?: (value: T) => boolean },
  ): Promise<Flight> {
    const started = performance.now();
    const value = await load();
    const loadMs = performance.now() - started;
    const cacheIt = options.shouldCache ? options.shouldCache(value) : true;
    const bytes = cacheIt ? await this.write(key, value, policy, loadMs, options.ttlMs) : undefined;
    return { value, bytes };
  }

  private copyOf<T>(flight: Flight, policy: ResolvedPolicy): T {
    return (flight.bytes ? decodeEntry<T>(policy.codec, flight.bytes).value : flight.value) as T;
  }

  /** Encodes and stores one entry; resolves to the bytes written, or undefined when nothing was written. */
  private async write(
    key: string,
    value: unknown,
    policy: ResolvedPolicy,
    loadMs: number,
    ttlOverrideMs: number | undefined,
  ): Promise<Buffer | undefined> {
    if (value === undefined) return undefined;
    const baseTtl = value === null ? policy.negativeTtlMs : (ttlOverrideMs ?? policy.ttlMs);
    if (!baseTtl) return undefined;
    const ttlMs = withJitter(baseTtl, policy.jitter);
    let bytes: Buffer;
    try {
      bytes = encodeEntry(policy.codec, { value, freshUntil: Date.now() + ttlMs, loadMs: Math.round(loadMs) });
    } catch (error) {
      this.warnOnce(`encode:${policy.name}`, `policy "${policy.name}": ${(error as CacheError).message}; value not cached`);
      return undefined;
    }
    const stored = await this.guard.run('set', (store) => store.set(key, bytes, ttlMs).then(() => true), false);
    return stored ? bytes : undefined;
  }

  private warnOnce(id: string, message: string): void {
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.logger.warn(message);
  }
}

/** Spreads a TTL uniformly within ±jitter, so entries written together do not all expire together. */
export function withJitter(ttlMs: number, jitter: number): number {
  if (jitter === 0) return ttlMs;
  return Math.max(1, Math.round(ttlMs * (1 + jitter * (2 * Math.random() - 1))));
}
