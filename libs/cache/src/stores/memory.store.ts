import { LRUCache } from 'lru-cache';
import type { CacheStore, LockAttempt } from './cache-store.interface';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries held before the least recently used are dropped. Default 10,000. */
  maxEntries?: number;
  /** Most bytes (values plus keys) held before the least recently used are dropped. Default: no limit. */
  maxBytes?: number;
}

/**
 * An in-process store with the same contract as Redis: for unit tests, and for a single process that runs without
 * Redis (the demo's fallback). It is not shared between processes.
 */
export class MemoryStore implements CacheStore {
  readonly name = 'memory';
  private readonly entries: LRUCache<string, Buffer>;
  private readonly locks = new Map<string, { token: string; expiresAt: number }>();

  constructor(options: MemoryStoreOptions = {}) {
    // ttlResolution 0: lru-cache otherwise reuses a cached clock reading, which can predate an entry's start, so
    // remainingTtl exceeded the TTL set and an entry could outlive its TTL while the event loop was busy.
    this.entries = new LRUCache<string, Buffer>({
      max: options.maxEntries ?? 10_000,
      ttlAutopurge: false,
      ttlResolution: 0,
      ...(options.maxBytes ? { maxSize: options.maxBytes, sizeCalculation: (value, key) => value.length + key.length } : {}),
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.entries.get(key);
  }

  /** Synchronous get, for the L1 tier's hot path. */
  getNow(key: string): Buffer | undefined {
    return this.entries.get(key);
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Drops every entry. */
  clear(): void {
    this.entries.clear();
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.entries.set(key, value, { ttl: Math.max(1, Math.ceil(ttlMs)) });
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    return keys.map((key) => this.entries.get(key));
  }

  async increment(keys: readonly string[]): Promise<number[]> {
    return keys.map((key) => {
      const next = Number(this.entries.get(key)?.toString() ?? 0) + 1;
      // Counters never expire on their own, like Redis INCR keys (an LRU drop only resets them to 0).
      this.entries.set(key, Buffer.from(String(next)), { ttl: 0 });
      return next;
    });
  }

  async delete(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) if (this.entries.delete(key) || this.locks.delete(key)) deleted++;
    return deleted;
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    const matching = [...this.entries.keys(), ...this.locks.keys()].filter((key) => key.startsWith(prefix));
    return this.delete(matching);
  }

  async remainingTtl(key: string): Promise<number | undefined> {
    if (!this.entries.has(key)) return undefined;
    // Whole milliseconds, never above the TTL set, like Redis PTTL.
    return Math.max(0, Math.floor(this.entries.getRemainingTTL(key)));
  }

  async getAndExtend(key: string, ttlMs: number): Promise<Buffer | undefined> {
    const value = this.entries.get(key);
    if (value) this.entries.set(key, value, { ttl: Math.max(1, Math.ceil(ttlMs)) });
    return value;
  }

  async acquireLock(key: string, token: string, ttlMs: number, unlessKey?: string): Promise<LockAttempt> {
    const existing = unlessKey === undefined ? undefined : this.entries.get(unlessKey);
    if (existing) return { acquired: false, existing };
    const now = Date.now();
    const held = this.locks.get(key);
    if (held && held.expiresAt > now) return { acquired: false, remainingMs: held.expiresAt - now };
    this.locks.set(key, { token, expiresAt: now + ttlMs });
    return { acquired: true };
  }

  async extendLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    const held = this.locks.get(key);
    if (!held || held.token !== token || held.expiresAt <= Date.now()) return false;
    held.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async releaseLock(key: string, token: string): Promise<boolean> {
    const held = this.locks.get(key);
    if (!held || held.token !== token) return false;
    this.locks.delete(key);
    return held.expiresAt > Date.now();
  }

  async grantLease(leaseKey: string, token: string, ttlMs: number): Promise<void> {
    this.locks.set(leaseKey, { token, expiresAt: Date.now() + ttlMs });
  }

  async setIfLeased(key: string, leaseKey: string, token: string, value: Buffer, ttlMs: number): Promise<boolean> {
    const held = this.locks.get(leaseKey);
    if (!held || held.token !== token || held.expiresAt <= Date.now()) return false;
    this.locks.delete(leaseKey);
    await this.set(key, value, ttlMs);
    return true;
  }
}
