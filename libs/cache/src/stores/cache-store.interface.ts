/**
 * The I/O contract of a cache tier. A store moves opaque bytes; it knows nothing of policies, codecs or entries.
 * Every method may reject (the engine decides what a failure means). One contract suite runs against every store.
 */
export interface CacheStore {
  /** Short name for logs ('redis', 'memory'). */
  readonly name: string;
  /** The stored bytes, or undefined when the key is absent or expired. */
  get(key: string): Promise<Buffer | undefined>;
  /** Stores bytes under a key for `ttlMs` milliseconds (at least 1). */
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  /**
   * The bytes of several keys, in order (undefined where absent). Keys may live in different hash slots: on a Cluster
   * the store sends one MGET per slot.
   */
  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>>;
  /** Adds one to the counter under each key (created at 0), in order; resolves to the new values. Same-slot keys. */
  increment(keys: readonly string[]): Promise<number[]>;
  /** Deletes keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** Deletes every key that starts with `prefix`, in batches, without blocking the server. Resolves to the count. */
  deleteByPrefix(prefix: string): Promise<number>;
  /** Milliseconds until the key expires, or undefined when it does not exist. */
  remainingTtl(key: string): Promise<number | undefined>;
  /** Like get, and resets the key's TTL to `ttlMs` in the same round trip (sliding expiration). */
  getAndExtend(key: string, ttlMs: number): Promise<Buffer | undefined>;
  /**
   * Takes the lock `key` for `ttlMs` if nobody holds it. Resolves to `{ acquired: true }`, or to the holder's
   * remaining lock time so a waiter knows how long a crashed holder can delay it at most. With `unlessKey` (a key of
   * the lock's slot) the lock is not taken when that key exists, and its bytes come back instead, in the same atomic
   * step: a loader never starts for an entry another process has just filled.
   */
  acquireLock(key: string, token: string, ttlMs: number, unlessKey?: string): Promise<LockAttempt>;
  /** Extends the lock only if `token` still holds it. */
  extendLock(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock only if `token` still holds it (a holder whose lock expired never frees another's). */
  releaseLock(key: string, token: string): Promise<boolean>;
  /**
   * Hands `token` the lease `leaseKey` for `ttlMs`, replacing any other (the latest reader's fill wins). A lease is a
   * lock taken without waiting; delete() of the lease key revokes it.
   */
  grantLease(leaseKey: string, token: string, ttlMs: number): Promise<void>;
  /**
   * Stores `value` under `key` only while `token` still holds `leaseKey`, and ends the lease, in one atomic step:
   * a fill computed before a delete or write of the key (which revoke the lease) is refused. Both keys share a hash
   * slot. Resolves to whether the value was stored.
   */
  setIfLeased(key: string, leaseKey: string, token: string, value: Buffer, ttlMs: number): Promise<boolean>;
}

/** Outcome of {@link CacheStore.acquireLock}. */
export type LockAttempt =
  | { readonly acquired: true }
  | { readonly acquired: false; readonly remainingMs: number }
  | { readonly acquired: false; readonly existing: Buffer };
