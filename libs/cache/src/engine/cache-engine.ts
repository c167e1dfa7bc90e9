import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { CacheBus } from '../bus/cache-bus.interface';
import { CACHE_BUS, CACHE_OPTIONS, CACHE_STORE } from '../cache.constants';
import { type CacheError, DecodeError, LoaderTimeoutError } from '../cache.errors';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import type { ResolvedPolicy } from '../policies/resolved-policy';
import { tagEpochKey, tagVersionKey } from '../keys/tag-keys';
import type { CacheStore } from '../stores/cache-store.interface';
import { MemoryStore } from '../stores/memory.store';
import { type CacheEntry, compactCopy, encodeEntry } from './cache-entry';
import { EntryDecoder } from './entry-decoder';
import { CacheEvents } from './cache-events';
import { FillWaiters } from './fill-waiters';
import { type PendingRepairs, RepairQueue } from './repair-queue';
import { OnceLogger } from './once-logger';
import { type PendingRead, ReadBatcher, type ReadReply, STORE_UNREACHABLE } from './read-batcher';
import { judgeFreshness, staleRetentionMs } from './freshness';
import { StoreGuard } from './store-guard';

/**
 * The caching algorithm, in one place: key -> policy -> store -> single-flight -> lock -> loader -> write -> notify.
 *
 * Invariants:
 * - A store failure never fails a call that the loader can answer; the loader's own errors propagate, unless the
 *   policy's grace allows a recent value to stand in.
 * - `undefined` is never cached; `null` only under the policy's negative TTL; a `cache: false` policy never touches
 *   the store.
 * - One load per key at a time: in this process through single-flight, across processes through a lock in the store
 *   whose waiters are woken by the bus when the value lands. Every caller still gets its own copy of the value.
 * - Bytes that do not decode are a miss and are deleted.
 * - A write or delete of a key ends any fail-safe reuse of its old value in this process.
 * - Every fill holds a lease (memcache leases, NSDI 2013), the lock itself where the policy locks: a delete or write
 *   of the key revokes it, and a fill whose lease was revoked is refused, so a value loaded before a write can never
 *   land in the cache after it. A load without a lease (store unreachable, lock wait exhausted) is not cached.
 *   A local write or delete also detaches this process's load of the key, so later callers start a new one.
 * - Tags are versions checked on read (batched with the other reads, all tag keys in one slot): invalidating a tag
 *   is one INCR per tag, whatever the number of entries. A fill records the versions it saw, and is not cached when a tag
 *   invalidation happened while it loaded (the namespace's tag epoch moved).
 * - L1 holds only fresh entries, as encoded bytes (every read gets a copy of its own, from EntryDecoder). A write
 *   or delete anywhere drops the key from every instance's L1 through the bus; a copy read from the store while an
 *   invalidation arrived is not kept; after the bus reconnects (messages may have been lost) L1 is emptied.
 */

/** How a value was obtained: fresh from the cache, from the loader, stale from the cache, or without the cache. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/** A value and how it was obtained. */
export interface CacheResult<T> {
  readonly value: T;
  readonly status: CacheStatus;
}

/**
 * Shapes what a caller receives from a value and how it was obtained (e.g. the value alone, or the value after a
 * response header names the status), in the same reaction that produced the value: no promise hop of its own.
 */
export type Present<T, R> = (value: T, status: CacheStatus) => R;

/** The {@link Present} of {@link CacheEngine.getOrLoad}: value and status together. */
export const asResult = <T>(value: T, status: CacheStatus): CacheResult<T> => ({ value, status });

/** The {@link Present} of callers that want the value alone (a decorated method, `CacheService.getOrSet`). */
export const valueOnly = <T>(value: T): T => value;

/** A lookup's result with the entry's bytes, from which the callers who shared the lookup decode their own copies. */
interface LookupResult<T> extends CacheResult<T> {
  readonly bytes: Buffer | undefined;
}

/** A lookup that callers of its key may share while its store read is unsent (see CacheEngine.sharedLookup). */
interface SharedLookup {
  readonly policy: ResolvedPolicy;
  readonly read: PendingRead;
  /** The first caller's result: settles once the lookup's outcome (status, copies) is known. */
  readonly result: Promise<unknown>;
  /** The lookup's status, set when it ends. */
  status?: CacheStatus;
  /** Callers who joined; they can only join before the read is sent, so the count is final when the answer comes. */
  joiners: number;
  /** One value per joiner, made before the first caller receives its own (see CacheEngine.sharedLookup). */
  copies: unknown[];
}

/** What a store read found: a usable entry, nothing, or no answer. */
type ReadOutcome<T> = ReadEntry<T> | undefined | typeof STORE_UNREACHABLE;

/** Per-call options of {@link CacheEngine.getOrLoad}. */
export interface LoadOptions<T> {
  /** Overrides the policy's TTL. */
  ttlMs?: number;
  /** Decides whether a loaded value is stored (e.g. `unless`). */
  shouldCache?: (value: T) => boolean;
  /** Tags of the loaded value: invalidating any of them makes the entry a miss everywhere. */
  tags?: (value: T) => readonly string[];
}

/** How long a fill's lease lasts when the policy has no lock; renewed while the loader runs. */
const LEASE_TTL_MS = 2_000;

/** The lease a fill holds: only while `token` still holds `leaseKey` may its value be stored. */
interface Lease {
  readonly leaseKey: string;
  readonly token: string;
}

/**
 * The lease (and lock) key of an entry. It starts with the entry's key, so group and namespace clears remove it,
 * and its hash tag is the entry's key, so on a Cluster both live in one slot (the fill script touches both).
 */
export function leaseKeyOf(key: string): string {
  return `${key}~lease{${key}}`;
}

/** One caller's request to load a key, passed whole through the load path. */
interface LoadRequest<T> {
  readonly key: string;
  readonly policy: ResolvedPolicy;
  readonly load: () => Promise<T> | T;
  readonly options: LoadOptions<T>;
}

/** An entry as read from the store, with its bytes so that each caller can decode its own copy. */
interface ReadEntry<T = unknown> extends CacheEntry<T> {
  readonly bytes: Buffer;
}

/** A load under way in this process, and the lease it holds once it has one (for callers deciding to join it). */
interface InFlight {
  readonly promise: Promise<Flight>;
  lease?: Lease;
}

/** The outcome of one load, shared by every caller that joined it. */
interface Flight {
  readonly value: unknown;
  /** Encoded entry, decoded again for every caller but the first so nobody shares a mutable object. */
  readonly bytes: Buffer | undefined;
  readonly status: 'MISS' | 'HIT' | 'STALE';
}

@Injectable()
export class CacheEngine {
  private readonly logger = new OnceLogger('Cache');
  private readonly guard: StoreGuard;
  private readonly reads: ReadBatcher;
  private readonly waiters: FillWaiters;
  private readonly flights = new Map<string, InFlight>();
  /** Keys whose loader just failed and whose grace value is reused until the back-off ends. */
  private readonly failSafe = new LRUCache<string, ReadEntry>({ max: 10_000 });
  /** Changes that did not reach the store, retried until they do. */
  private readonly repairs = new RepairQueue((pending) => this.applyRepairs(pending));
  /** The in-process tier of policies with `l1`. */
  private readonly l1: MemoryStore;
  /** Lookups whose store read has not been sent yet, which callers of the same key may still share. */
  private readonly sharedLookups = new Map<string, SharedLookup>();
  /** Decodes what the store and L1 return, copying rather than decoding again bytes it has just decoded. */
  private readonly decoder = new EntryDecoder();
  /** Counts invalidations seen; an L2 read that overlapped one does not fill L1 (it may predate the write). */
  private l1Epoch = 0;

  constructor(
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    @Inject(CACHE_STORE) store: CacheStore,
    @Inject(CACHE_BUS) private readonly bus: CacheBus,
    private readonly events: CacheEvents,
  ) {
    this.guard = new StoreGuard(store, this.logger, options.storeGuard, events);
    this.reads = new ReadBatcher(this.guard);
    this.waiters = new FillWaiters(bus);
    this.l1 = new MemoryStore(options.l1);
    bus.onMessage(({ message, ownMessage }) => {
      if (message.kind !== 'invalidate' || ownMessage) return;
      if (message.tags?.length) this.dropAllFromL1();
      this.forgetLocally(message.keys, message.prefixes);
      const tags = message.tags?.length ? message.tags : undefined;
      events.emit('invalidation', { keys: message.keys, prefixes: message.prefixes, tags, origin: 'remote' });
    });
    bus.onReconnect(() => {
      this.dropAllFromL1();
      events.emit('busReconnect', {});
    });
  }

  /** The namespace every key of this engine lives under. */
  get namespace(): string {
    return this.options.namespace;
  }

  /** The store guard's breaker state ('closed' when the store answers). */
  get breakerState() {
    return this.guard.breakerState;
  }

  /** Entries held in the in-process (L1) tier, all policies together (for metrics). */
  get l1Size(): number {
    return this.l1.size;
  }

  /**
   * Where `key` is cached (this instance's L1, the shared store, or nowhere), the store's TTL left and the entry's
   * size, without reading it through the caching algorithm (nothing is refreshed, extended or copied into L1).
   */
  async inspect(key: string): Promise<{ tier: 'l1' | 'l2' | 'none'; ttlMs: number | undefined; sizeBytes: number | undefined }> {
    const local = this.l1.getNow(key);
    const [bytes, ttlMs] = await Promise.all([
      this.guard.read('inspect', (store) => store.get(key), undefined),
      this.guard.read('inspect', (store) => store.remainingTtl(key), undefined),
    ]);
    return { tier: local ? 'l1' : bytes ? 'l2' : 'none', ttlMs: bytes ? ttlMs : undefined, sizeBytes: (local ?? bytes)?.length };
  }

  /**
   * Returns the cached value of `key` when fresh (or stale within stale-while-revalidate, refreshing it in the
   * background), else loads it once across all callers and processes, caches it, and returns it.
   * @param key the full key, namespace included
   */
  getOrLoad<T>(key: string, policy: ResolvedPolicy, load: () => Promise<T> | T, options: LoadOptions<T> = {}): Promise<CacheResult<T>> {
    return this.getOrLoadAs(key, policy, load, options, asResult);
  }

  /**
   * {@link getOrLoad}, resolving to what `present` makes of the value and its status (the value alone, for a
   * decorated method): no result object, nor a promise reaction, between the store's reply and the caller.
   */
  getOrLoadAs<T, R>(key: string, policy: ResolvedPolicy, load: () => Promise<T> | T, options: LoadOptions<T>, present: Present<T, R>): Promise<R> {
    if (!policy.cache) return loadBypassingCache(load, present);
    if (policy.l1) {
      const local = this.readL1<T>(key, policy);
      if (local !== undefined) {
        if (this.events.has('hit')) this.events.emit('hit', { policy: policy.name, key, tier: 'l1' });
        return settleWith(() => present(local, 'HIT'));
      }
    }
    return this.sharedLookup({ key, policy, load, options }, present);
  }

  /**
   * Callers of one key whose lookups start before its store read is sent share that lookup (its read, its load and
   * its background refresh), each with a copy of its own: a burst of 1,000 callers costs one lookup. A caller never
   * joins a lookup whose read is already sent, so it never gets an answer older than its own read would have been.
   *
   * The joiners' copies are made when the lookup ends, before any caller has the value (the first caller then takes
   * the lookup's own value): nobody can have changed it yet. The whole lookup of a hit settles in one promise
   * reaction after the store's reply. Joiners present their copies themselves, once the first caller's result settles.
   */
  private sharedLookup<T, R>(request: LoadRequest<T>, present: Present<T, R>): Promise<R> {
    const { key, policy } = request;
    const shared = this.sharedLookups.get(key);
    if (shared && shared.policy === policy && this.reads.isUnsent(shared.read)) {
      shared.joiners++;
      return shared.result.then(() => {
        const status = shared.status!;
        this.report(policy, key, status);
        return present(shared.copies.pop() as T, status);
      });
    }
    let shareable: SharedLookup | undefined;
    const forget = () => {
      if (shareable && this.sharedLookups.get(key) === shareable) this.sharedLookups.delete(key);
    };
    const finish = (outcome: LookupResult<T>): R => {
      forget();
      if (shareable) {
        shareable.status = outcome.status;
        for (let joiner = 0; joiner < shareable.joiners; joiner++) shareable.copies.push(this.joinerCopy<T>(key, outcome, policy));
      }
      this.report(policy, key, outcome.status);
      return present(outcome.value, outcome.status);
    };
    const fail = (error: unknown): never => {
      forget();
      throw error;
    };
    let read: PendingRead | undefined;
    const result = this.lookup(
      request,
      (looked) => (isPromise(looked) ? looked.then(finish, fail) : finish(looked)),
      (issued) => (read = issued),
    );
    if (!read) return result; // answered without a batched read (fail-safe, repair, sliding): nothing to share
    shareable = { policy, read, result, joiners: 0, copies: [] };
    this.sharedLookups.set(key, shareable);
    return result;
  }

  /**
   * Everything after L1: fail-safe reuse, the store, freshness, and the load when needed; `then` receives the result
   * (or its promise, when a load or a check is needed) in the reaction to the store's reply. `onRead` learns of the
   * batched store read this lookup waits on, before this returns.
   */
  private lookup<T, R>(
    request: LoadRequest<T>,
    then: (looked: LookupResult<T> | Promise<LookupResult<T>>) => R,
    onRead: (read: PendingRead) => void,
  ): Promise<Awaited<R>> {
    const { key, policy } = request;
    const backedOff = this.failSafe.get(key);
    if (backedOff) return settleWith(() => then({ value: this.decode<T>(key, backedOff.bytes, policy), status: 'STALE', bytes: backedOff.bytes }));
    return this.read<T, R>(
      key,
      policy,
      (entry) => then(isPromise(entry) ? entry.then((checked) => this.judge(request, checked)) : this.judge(request, entry)),
      onRead,
    );
  }

  /** The result of a lookup that read `entry`: the entry's value when it is usable, else a load (joined or started). */
  private judge<T>(request: LoadRequest<T>, entry: ReadOutcome<T>): LookupResult<T> | Promise<LookupResult<T>> {
    // The store did not answer: one load in this process, nothing taken or written (each would wait out its timeout).
    if (entry === STORE_UNREACHABLE) return this.joinFlight(request, undefined, 'store-unreachable');
    if (entry) {
      switch (judgeFreshness(entry, request.policy, Date.now())) {
        case 'fresh':
          return { value: entry.value, status: 'HIT', bytes: entry.bytes };
        case 'early':
          this.refreshInBackground(request, entry, 'early');
          return { value: entry.value, status: 'HIT', bytes: entry.bytes };
        case 'revalidate':
          this.refreshInBackground(request, entry, 'revalidate');
          return { value: entry.value, status: 'STALE', bytes: entry.bytes };
        case 'grace':
          return this.joinFlight(request, entry, 'wait');
        case 'expired':
          break;
      }
    }
    return this.joinFlight(request, undefined, 'wait');
  }

  /** Reports how a store-tier lookup ended, for metrics and subscribers. */
  private report(policy: ResolvedPolicy, key: string, status: CacheStatus): void {
    if (status === 'HIT') {
      if (this.events.has('hit')) this.events.emit('hit', { policy: policy.name, key, tier: 'l2' });
    } else if (status === 'MISS') {
      if (this.events.has('miss')) this.events.emit('miss', { policy: policy.name, key });
    } else if (status === 'STALE' && this.events.has('stale')) {
      this.events.emit('stale', { policy: policy.name, key });
    }
  }

  /** The fresh cached value of `key`, or undefined. */
  async get<T>(key: string, policy: ResolvedPolicy): Promise<T | undefined> {
    if (!policy.cache) return undefined;
    return this.read<T, Promise<T | undefined>>(key, policy, async (entry) => {
      const read = await entry;
      return read && read !== STORE_UNREACHABLE && judgeFreshness(read, policy, Date.now(), () => 0) === 'fresh' ? read.value : undefined;
    });
  }

  /**
   * Replaces the cached value (write-through after a successful database write, or an explicit set): caches the new
   * value, and when that fails for any reason deletes the key, so the old value cannot outlive the write. Resolves to
   * whether the new value was stored. Never throws.
   */
  async writeThrough(key: string, value: unknown, policy: ResolvedPolicy, ttlMs?: number): Promise<boolean> {
    if (!policy.cache) return false;
    if ((await this.write(key, value, policy, 0, ttlMs, undefined)) === undefined) return this.delete([key]).then(() => false);
    this.announceInvalidation([key], []);
    return true;
  }

  /** Deletes keys. Resolves to false when the store could not be reached. */
  async delete(keys: readonly string[]): Promise<boolean> {
    if (keys.length === 0) return true;
    this.forgetLocally(keys, []);
    const withLeases = [...keys, ...keys.map(leaseKeyOf)];
    const deleted = await this.guard.write('delete', (store) => store.delete(withLeases).then(() => true), false);
    if (deleted) this.repairs.settled(keys);
    else this.repairs.add({ keys });
    this.announceInvalidation(keys, []);
    return deleted;
  }

  /** Deletes every key that starts with `prefix` (SCAN + UNLINK in batches). Resolves to the count, or -1 on failure. */
  async deleteByPrefix(prefix: string): Promise<number> {
    this.forgetLocally([], [prefix]);
    const deleted = await this.guard.write('deleteByPrefix', (store) => store.deleteByPrefix(prefix), -1);
    if (deleted < 0) this.repairs.add({ prefixes: [prefix] });
    this.announceInvalidation([], [prefix]);
    return deleted;
  }

  /**
   * Deletes a group: `groupKey` itself and every key under `groupKey:`, or, without a key, the whole namespace.
   * Resolves to the number of keys deleted under the prefix, or -1 if the store failed.
   */
  async deleteGroup(groupKey?: string): Promise<number> {
    if (groupKey === undefined) return this.deleteByPrefix(`${this.options.namespace}:`);
    const [, count] = await Promise.all([this.delete([groupKey]), this.deleteByPrefix(`${groupKey}:`)]);
    return count;
  }

  /**
   * Makes every entry carrying one of `tags` a miss, in every instance: one INCR per tag (and one of the tag epoch),
   * whatever the number of tagged entries. Resolves to false when the store could not be reached.
   */
  async invalidateTags(tags: readonly string[]): Promise<boolean> {
    if (tags.length === 0) return true;
    const done = await this.guard.write('invalidateTags', (store) => store.increment(this.tagBumpKeys(tags)).then(() => true), false);
    if (!done) this.repairs.add({ tags });
    this.dropAllFromL1();
    this.announceInvalidation([], [], tags);
    return done;
  }

  /** Applies changes that did not reach the store earlier; see {@link RepairQueue}. */
  private async applyRepairs({ keys, prefixes, tags }: PendingRepairs): Promise<boolean> {
    const attempts = [
      keys.length === 0 || this.guard.write('repair', (store) => store.delete([...keys, ...keys.map(leaseKeyOf)]).then(() => true), false),
      ...prefixes.map((prefix) => this.guard.write('repair', (store) => store.deleteByPrefix(prefix).then(() => true), false)),
      tags.length === 0 || this.guard.write('repair', (store) => store.increment(this.tagBumpKeys(tags)).then(() => true), false),
    ];
    const repaired = (await Promise.all(attempts)).every(Boolean);
    if (repaired) this.announceInvalidation(keys, prefixes, tags);
    return repaired;
  }

  /** The counters one tag invalidation bumps: each tag's version and the namespace's tag epoch (one slot). */
  private tagBumpKeys(tags: readonly string[]): string[] {
    return [...tags.map((tag) => tagVersionKey(this.namespace, tag)), tagEpochKey(this.namespace)];
  }

  /** Milliseconds until a key expires, or undefined when it is absent (or the store is unreachable). */
  async remainingTtl(key: string): Promise<number | undefined> {
    return this.guard.read('remainingTtl', (store) => store.remainingTtl(key), undefined);
  }

  /**
   * Reads `key` and hands `then` its usable entry, undefined when there is none, or STORE_UNREACHABLE when the store
   * did not answer (a promise of these when the entry's tags must be checked or bad bytes deleted first). `then` runs
   * in the reaction to the store's reply, so a plain hit takes no promise hop of its own. `onRead` is told
   * (synchronously) of the batched read, when one is made.
   */
  private read<T, R>(
    key: string,
    policy: ResolvedPolicy,
    then: (entry: ReadOutcome<T> | Promise<ReadOutcome<T>>) => R,
    onRead?: (read: PendingRead) => void,
  ): Promise<Awaited<R>> {
    if (this.repairs.covers(key)) return settleWith(() => then(undefined)); // may hold what an unrepaired change meant to replace
    const epoch = this.l1Epoch;
    const judge = (bytes: ReadReply) => then(bytes === undefined || bytes === STORE_UNREACHABLE ? bytes : this.accept<T>(key, policy, bytes, epoch));
    if (policy.sliding) {
      return this.guard.read('getAndExtend', (store) => store.getAndExtend(key, policy.ttlMs), STORE_UNREACHABLE, policy.readTimeoutMs).then(judge) as Promise<Awaited<R>>;
    }
    return new Promise<Awaited<R>>((resolve, reject) => {
      const read = this.reads.readThen(key, this.readTimeoutOf(policy), (bytes) => {
        try {
          resolve(judge(bytes) as Awaited<R>);
        } catch (error) {
          reject(error);
        }
      });
      onRead?.(read);
      // After the batch's send when the batcher was idle: the copy is made while the read is on the wire.
      this.decoder.prepareCopy(key, policy.codec, policy.immutable);
    });
  }

  private readTimeoutOf(policy: ResolvedPolicy): number {
    return policy.readTimeoutMs ?? this.options.storeGuard.readTimeoutMs;
  }

  /**
   * Judges stored bytes read at L1 epoch `epoch`: an entry of this cache, of this format version, whose tags are
   * current. Bad bytes are deleted. A usable entry is kept in L1 when no invalidation arrived since the read began.
   * Synchronous unless the entry has tags to check or bad bytes to delete, so that a plain hit takes no extra
   * promise hops.
   */
  private accept<T>(key: string, policy: ResolvedPolicy, bytes: Buffer | undefined, epoch: number): ReadEntry<T> | undefined | Promise<ReadEntry<T> | undefined> {
    if (!bytes || this.repairs.covers(key)) return undefined;
    let entry: ReadEntry<T>;
    try {
      if (policy.maxBytes !== undefined && bytes.length > policy.maxBytes) {
        throw new DecodeError(policy.codec.name, `entry of ${bytes.length} bytes exceeds maxBytes (${policy.maxBytes})`);
      }
      const { value, freshUntil, loadMs, tags, formatVersion } = this.decoder.decode<T>(key, policy.codec, bytes, policy.immutable);
      entry = { value, freshUntil, loadMs, tags, formatVersion, bytes };
    } catch (error) {
      return this.discardBadEntry(key, policy, error as CacheError);
    }
    // Another deploy's shape: a miss, replaced by the next fill (not deleted: that deploy may still be reading it).
    if (entry.formatVersion !== this.options.formatVersion) return undefined;
    if (!entry.tags) return this.admit(key, policy, entry, epoch);
    const tags = entry.tags;
    if (Object.keys(tags).some((tag) => this.repairs.coversTag(tag))) return undefined;
    return this.tagsUnchanged(tags).then((current) => (current ? this.admit(key, policy, entry, epoch) : undefined));
  }

  /** A usable entry: kept in L1 when the policy has it and no invalidation arrived since the read began. */
  private admit<T>(key: string, policy: ResolvedPolicy, entry: ReadEntry<T>, epoch: number): ReadEntry<T> {
    if (policy.l1 && epoch === this.l1Epoch) this.keepInL1(key, policy, entry);
    return entry;
  }

  /** Bytes this cache cannot read (corrupt, foreign, too large): deleted, and a miss. */
  private async discardBadEntry(key: string, policy: ResolvedPolicy, error: CacheError): Promise<undefined> {
    this.logger.warnOnce(`decode:${policy.name}`, `policy "${policy.name}": ${error.message}; entry deleted, treated as a miss`);
    this.events.emit('badEntry', { policy: policy.name, key });
    await this.delete([key]);
    return undefined;
  }

  /**
   * Joins the load of `key` already under way in this process, or starts one; applies the policy's timeouts. A load
   * whose lease was revoked (the key was deleted or written since it started, possibly by another instance whose bus
   * message has not arrived yet) is not joined: its value may predate the change this caller started after.
   */
  private async joinFlight<T>(request: LoadRequest<T>, stale: ReadEntry<T> | undefined, mode: FillMode): Promise<LookupResult<T>> {
    const { key } = request;
    let flight = this.flights.get(key);
    if (flight?.lease && !(await this.leaseStillHeld(flight.lease))) {
      if (this.flights.get(key) === flight) this.flights.delete(key);
      flight = this.flights.get(key);
    }
    const leader = !flight;
    const promise = flight ? flight.promise : this.startFlight(request, stale, mode);
    return this.awaitFlight<T>(key, promise, leader, request.policy, stale);
  }

  /** Whether a lease is still held (true as well when the store cannot tell: joining is then the fail-open choice). */
  private async leaseStillHeld(lease: Lease): Promise<boolean> {
    const held = await this.reads.read(lease.leaseKey, this.options.storeGuard.readTimeoutMs);
    return held === STORE_UNREACHABLE || held?.toString() === lease.token;
  }

  private startFlight<T>(request: LoadRequest<T>, stale: ReadEntry<T> | undefined, mode: FillMode): Promise<Flight> {
    const { key } = request;
    const flight = {} as { promise: Promise<Flight>; lease?: Lease };
    flight.promise = this.fill(request, stale, mode, (lease) => (flight.lease = lease));
    this.flights.set(key, flight);
    const settle = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    flight.promise.then(settle, settle);
    return flight.promise;
  }

  /** Waits for a flight within the policy's soft and hard loader timeouts. */
  private async awaitFlight<T>(
    key: string,
    flight: Promise<Flight>,
    leader: boolean,
    policy: ResolvedPolicy,
    stale: ReadEntry<T> | undefined,
  ): Promise<LookupResult<T>> {
    const softMs = stale ? policy.softTimeoutMs : undefined;
    if (softMs === undefined && policy.hardTimeoutMs === undefined) return this.answer<T>(key, await flight, leader, policy);
    const timers: NodeJS.Timeout[] = [];
    const after = <R>(ms: number | undefined, outcome: R) =>
      ms === undefined ? [] : [new Promise<R>((resolve) => timers.push(setTimeout(() => resolve(outcome), ms)))];
    try {
      const outcome = await Promise.race([
        flight,
        ...after(softMs, 'soft' as const),
        ...after(policy.hardTimeoutMs, 'hard' as const),
      ]);
      if (outcome === 'soft') return { value: stale!.value, status: 'STALE', bytes: stale!.bytes };
      if (outcome === 'hard') {
        if (stale && this.withinGrace(stale, policy)) return { value: stale.value, status: 'STALE', bytes: stale.bytes };
        throw new LoaderTimeoutError(key, policy.hardTimeoutMs!);
      }
      return this.answer<T>(key, outcome, leader, policy);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /** One caller's result of a flight: the leader takes the loaded value, every other caller its own copy. */
  private answer<T>(key: string, flight: Flight, leader: boolean, policy: ResolvedPolicy): LookupResult<T> {
    const value = leader ? (flight.value as T) : this.ownCopy<T>(key, flight.value, flight.bytes, policy);
    return { value, status: flight.status, bytes: flight.bytes };
  }

  /** A caller's own copy of a shared value: decoded from its entry's bytes, or cloned when there are none. */
  private ownCopy<T>(key: string, value: unknown, bytes: Buffer | undefined, policy: ResolvedPolicy): T {
    return (bytes ? this.decode<T>(key, bytes, policy) : cloneForCaller(value)) as T;
  }

  /**
   * The own copy of a caller who joined a shared lookup. Unless it is a loader's (MISS), the lookup's value was
   * decoded by this lookup and no caller has seen it yet: reactions to a promise run in order, so every joiner's
   * runs before the first caller's code does. The codec copies it, then, where it can: for JSON that is about 4x
   * cheaper than decoding the bytes again. Joiners of an immutable policy share the value instead, when it is the
   * frozen one the decoder keeps (not one it could not freeze).
   */
  private joinerCopy<T>(key: string, { value, bytes, status }: LookupResult<unknown>, policy: ResolvedPolicy): T {
    if (status !== 'MISS' && policy.immutable && this.decoder.isShared(key, value)) return value as T;
    const copy = status === 'MISS' ? undefined : this.decoder.copyOf<T>(key, policy.codec, bytes, value);
    return copy ? copy.value : this.ownCopy<T>(key, value, bytes, policy);
  }

  /**
   * One load of `key`: under the distributed lock when the policy has one, with grace as the fall-back when the
   * loader fails. See {@link FillMode}.
   */
  private async fill<T>(request: LoadRequest<T>, stale: ReadEntry<T> | undefined, mode: FillMode, onLease: (lease: Lease) => void): Promise<Flight> {
    const { policy } = request;
    try {
      if (mode === 'store-unreachable') return await this.loadAndStore(request, undefined);
      if (policy.lock) return await this.loadUnderLock(request, policy.lock, stale, mode === 'wait', onLease);
      const lease: Lease = { leaseKey: leaseKeyOf(request.key), token: randomUUID() };
      const granted = await this.guard.write('grantLease', (store) => store.grantLease(lease.leaseKey, lease.token, LEASE_TTL_MS).then(() => true), false);
      if (!granted) return await this.loadAndStore(request, undefined);
      onLease(lease);
      return await this.loadHoldingLease(request, lease, LEASE_TTL_MS, stale);
    } catch (error) {
      if (!stale || !this.withinGrace(stale, policy)) throw error;
      this.logger.warnOnce(`grace:${policy.name}`, `policy "${policy.name}": loader failed (${(error as Error).message}); serving values within grace`);
      this.failSafe.set(request.key, stale, { ttl: policy.failSafeBackoffMs });
      return staleFlight(stale);
    }
  }

  private async loadUnderLock<T>(
    request: LoadRequest<T>,
    lock: NonNullable<ResolvedPolicy['lock']>,
    stale: ReadEntry<T> | undefined,
    waitForOthers: boolean,
    onLease: (lease: Lease) => void,
  ): Promise<Flight> {
    const { key, policy } = request;
    const lease: Lease = { leaseKey: leaseKeyOf(key), token: randomUUID() };
    const deadline = Date.now() + lock.waitMs;
    // A fill takes the lock only while the entry is absent, in one step, so it never loads what another process has
    // just filled (and needs no second read). A refresh replaces an entry that exists, so it takes the lock plainly.
    let unlessFilled = stale === undefined;
    for (;;) {
      const epoch = this.l1Epoch;
      const attempt = await this.guard.write(
        'acquireLock',
        (store) => store.acquireLock(lease.leaseKey, lease.token, lock.ttlMs, unlessFilled ? key : undefined),
        undefined,
      );
      if (!attempt) return this.loadAndStore(request, undefined); // store unreachable: no lock to be had
      if (attempt.acquired) {
        onLease(lease);
        return this.loadHoldingLease(request, lease, lock.ttlMs, stale, unlessFilled);
      }
      if ('existing' in attempt) {
        const landed = this.freshFlight(await this.accept<T>(key, policy, attempt.existing, epoch), policy);
        if (landed) return landed;
        unlessFilled = false; // an entry that is not fresh (or not usable) is ours to replace
        continue;
      }
      if (!waitForOthers) return staleFlight(stale);

      // Another process is loading: sleep until its value lands or its lock lapses (a crashed holder), bounded.
      const waitMs = Math.min(deadline - Date.now(), attempt.remainingMs + 5);
      if (waitMs <= 0) break;
      const waiting = this.waiters.register(key);
      const landed = await this.readFresh<T>(key, policy);
      if (landed) {
        waiting.cancel();
        return landed;
      }
      const waitStarted = performance.now();
      await waiting.until(waitMs);
      this.events.emit('lockWait', { policy: policy.name, key, waitedMs: performance.now() - waitStarted });
      const filled = await this.readFresh<T>(key, policy);
      if (filled) return filled;
    }
    // Waited long enough: the policy's answer is the stale value if there is one, else our own (uncached) load.
    return stale ? staleFlight(stale) : this.loadAndStore(request, undefined);
  }

  private async loadHoldingLease<T>(
    request: LoadRequest<T>,
    lease: Lease,
    leaseTtlMs: number,
    replacing: ReadEntry<T> | undefined,
    knownEmpty = false,
  ): Promise<Flight> {
    const { key, policy } = request;
    const { leaseKey, token } = lease;
    // Renew the lease while the loader runs, so a slow loader keeps it and a crashed process loses it within one TTL.
    const renewal = setInterval(() => {
      void this.guard.write('extendLock', (store) => store.extendLock(leaseKey, token, leaseTtlMs), false);
    }, Math.max(5, Math.floor(leaseTtlMs / 3)));
    renewal.unref();
    try {
      // Another process may have filled the key between our miss and our lock (unless the lock was taken only because
      // the entry was absent). An early (XFetch) refresh finds the still-fresh entry it was started to replace: that
      // is not a new fill, so it loads anyway.
      const landed = knownEmpty ? undefined : await this.readFresh<T>(key, policy);
      if (landed && !(replacing && landed.bytes?.equals(replacing.bytes))) return landed;
      const flight = await this.loadAndStore(request, lease);
      if (flight.bytes) this.announceFill(key);
      return flight;
    } finally {
      clearInterval(renewal);
      // A stored fill already ended the lease; this frees it after a refused fill or a loader error.
      void this.guard.write('releaseLock', (store) => store.releaseLock(leaseKey, token), false);
    }
  }

  private readFresh<T>(key: string, policy: ResolvedPolicy): Promise<Flight | undefined> {
    return this.read<T, Promise<Flight | undefined>>(key, policy, async (entry) => this.freshFlight(await entry, policy));
  }

  /** A flight answered by `entry` when it is fresh. */
  private freshFlight(entry: ReadEntry | undefined | typeof STORE_UNREACHABLE, policy: ResolvedPolicy): Flight | undefined {
    if (!entry || entry === STORE_UNREACHABLE || judgeFreshness(entry, policy, Date.now(), () => 0) !== 'fresh') return undefined;
    return { value: entry.value, bytes: entry.bytes, status: 'HIT' };
  }

  /** Runs the loader; caches its value only under a lease still held (undefined: return it uncached). */
  private async loadAndStore<T>({ key, policy, load, options }: LoadRequest<T>, lease: Lease | undefined): Promise<Flight> {
    const tagEpochBefore = options.tags && lease ? await this.readTagCounters([tagEpochKey(this.namespace)]) : undefined;
    const started = performance.now();
    let value: T;
    try {
      value = await load();
    } catch (error) {
      this.events.emit('load', { policy: policy.name, key, durationMs: performance.now() - started, error });
      throw error;
    }
    const loadMs = performance.now() - started;
    this.events.emit('load', { policy: policy.name, key, durationMs: loadMs });
    const cacheIt = lease !== undefined && (options.shouldCache ? options.shouldCache(value) : true);
    const tagNames = cacheIt && options.tags ? [...new Set(options.tags(value))] : [];
    const tags = tagNames.length ? await this.tagVersionsSince(tagNames, tagEpochBefore?.[0]) : undefined;
    const bytes = cacheIt && tags !== null ? await this.write(key, value, policy, loadMs, options.ttlMs, lease, tags) : undefined;
    return { value, bytes, status: 'MISS' };
  }

  /**
   * The current versions of `tags`, or null when they cannot be trusted for this fill: the store is unreachable, or
   * a tag invalidation happened since `epochBefore` was read (the loaded value may predate it).
   */
  private async tagVersionsSince(names: readonly string[], epochBefore: number | undefined): Promise<Record<string, number> | null> {
    if (epochBefore === undefined) return null;
    const counters = await this.readTagCounters([tagEpochKey(this.namespace), ...names.map((tag) => tagVersionKey(this.namespace, tag))]);
    if (!counters || counters[0] !== epochBefore) return null;
    return Object.fromEntries(names.map((tag, index) => [tag, counters[index + 1]]));
  }

  /** Whether every tag an entry carries still has the version it recorded. */
  private async tagsUnchanged(tags: Readonly<Record<string, number>>): Promise<boolean> {
    const names = Object.keys(tags);
    const counters = await this.readTagCounters(names.map((tag) => tagVersionKey(this.namespace, tag)));
    return counters !== undefined && names.every((tag, index) => counters[index] === tags[tag]);
  }

  /** Tag counters (0 where never bumped), or undefined when the store could not be read. */
  private async readTagCounters(keys: readonly string[]): Promise<number[] | undefined> {
    const timeoutMs = this.options.storeGuard.readTimeoutMs;
    const values = await Promise.all(keys.map((key) => this.reads.read(key, timeoutMs)));
    if (values.includes(STORE_UNREACHABLE)) return undefined;
    return values.map((value) => (value ? Number(value.toString()) : 0));
  }

  /** Starts a refresh that no caller waits for; skipped when a load of the key is already under way anywhere. */
  private refreshInBackground<T>(request: LoadRequest<T>, entry: ReadEntry<T>, reason: 'early' | 'revalidate'): void {
    if (this.flights.has(request.key)) return;
    const { policy } = request;
    this.events.emit('refresh', { policy: policy.name, key: request.key, reason });
    this.startFlight(request, entry, 'no-wait').catch((error: Error) => {
      this.logger.warnOnce(`refresh:${policy.name}`, `policy "${policy.name}": background refresh failed (${error.message}); the stale value stays until it expires`);
    });
  }

  /**
   * Encodes and stores one entry; resolves to the bytes written, or undefined when nothing was written. A fill passes
   * its lease and is stored only while it holds it; an explicit write (`lease` undefined) revokes any outstanding
   * lease first, so no fill that started before it can land after it, and wakes processes waiting for the key.
   */
  private async write(
    key: string,
    value: unknown,
    policy: ResolvedPolicy,
    loadMs: number,
    ttlOverrideMs: number | undefined,
    lease: Lease | undefined,
    tags?: Readonly<Record<string, number>>,
  ): Promise<Buffer | undefined> {
    this.failSafe.delete(key);
    if (value === undefined) return undefined;
    const baseTtl = value === null ? policy.negativeTtlMs : (ttlOverrideMs ?? policy.ttlMs);
    if (!baseTtl) return undefined;
    const freshMs = withJitter(baseTtl, policy.jitter);
    let bytes: Buffer;
    try {
      const formatVersion = this.options.formatVersion;
      bytes = encodeEntry(policy.codec, { value, freshUntil: Date.now() + freshMs, loadMs: Math.round(loadMs), tags, formatVersion });
    } catch (error) {
      this.logger.warnOnce(`encode:${policy.name}`, `policy "${policy.name}": ${(error as CacheError).message}; value not cached`);
      this.events.emit('skipped', { policy: policy.name, key, reason: 'not-encodable' });
      return undefined;
    }
    if (policy.maxBytes !== undefined && bytes.length > policy.maxBytes) {
      this.logger.warnOnce(`size:${policy.name}`, `policy "${policy.name}": a ${bytes.length}-byte entry exceeds maxBytes (${policy.maxBytes}); value not cached`);
      this.events.emit('skipped', { policy: policy.name, key, reason: 'too-big' });
      return undefined;
    }
    const ttlMs = freshMs + (value === null ? 0 : staleRetentionMs(policy));
    // An explicit write is an invalidation for this process too: a read of the older value already under way must not
    // put that value into L1 after this write. The old copy goes now: if an unrelated invalidation makes us skip the
    // new copy below, the old one must not stay behind.
    if (!lease) this.l1Epoch++;
    if (policy.l1) void this.l1.delete([key]);
    const l1Epoch = this.l1Epoch;
    const stored = lease
      ? await this.guard.write('setIfLeased', (store) => store.setIfLeased(key, lease.leaseKey, lease.token, bytes, ttlMs), false)
      : await this.guard.write('set', (store) => this.revokeLeaseAndSet(store, key, bytes, ttlMs), false);
    if (!stored) return undefined;
    if (!lease) {
      // An explicit write supersedes a pending repair of the key; a fill does not (its lease may predate the change).
      this.repairs.settled([key]);
      this.flights.delete(key);
      this.announceFill(key);
    }
    // As in read(): a copy written while an invalidation arrived may predate it, so it stays out of L1.
    if (policy.l1 && l1Epoch === this.l1Epoch) this.keepInL1(key, policy, { bytes, freshUntil: Date.now() + freshMs });
    return bytes;
  }

  /** Revoke, then set: sent back to back on one connection (one slot), so Redis applies them in that order. */
  private async revokeLeaseAndSet(store: CacheStore, key: string, bytes: Buffer, ttlMs: number): Promise<boolean> {
    await Promise.all([store.delete([leaseKeyOf(key)]), store.set(key, bytes, ttlMs)]);
    return true;
  }

  /** Wakes the processes waiting for `key` (they read it from the store). */
  private announceFill(key: string): void {
    this.bus.publish({ kind: 'filled', keys: [key] }).catch(() => undefined);
  }

  /** A fresh copy of the L1 entry of `key`, or undefined. */
  private readL1<T>(key: string, policy: ResolvedPolicy): T | undefined {
    const bytes = this.l1.getNow(key);
    if (!bytes) return undefined;
    try {
      return this.decode<T>(key, bytes, policy);
    } catch {
      this.dropFromL1([key], []);
      return undefined;
    }
  }

  /** Keeps a fresh entry in L1 until it stops being fresh (or the policy's L1 cap, if shorter). */
  private keepInL1(key: string, policy: ResolvedPolicy, entry: { bytes: Buffer; freshUntil: number }): void {
    const ttlMs = Math.min(entry.freshUntil - Date.now(), policy.l1?.ttlMs ?? Number.POSITIVE_INFINITY);
    if (ttlMs >= 1) void this.l1.set(key, compactCopy(entry.bytes), ttlMs);
  }

  /**
   * Forgets what this process holds of these keys and of every key under these prefixes: fail-safe reuse of an old
   * value, loads under way (later callers start new ones) and L1 copies.
   */
  private forgetLocally(keys: readonly string[], prefixes: readonly string[]): void {
    for (const key of keys) {
      this.failSafe.delete(key);
      this.flights.delete(key);
    }
    if (prefixes.length > 0) {
      const covered = (key: string) => prefixes.some((prefix) => key.startsWith(prefix));
      for (const key of this.failSafe.keys()) if (covered(key)) this.failSafe.delete(key);
      for (const key of this.flights.keys()) if (covered(key)) this.flights.delete(key);
    }
    this.dropFromL1(keys, prefixes);
  }

  private dropAllFromL1(): void {
    this.l1Epoch++;
    this.l1.clear();
  }

  private dropFromL1(keys: readonly string[], prefixes: readonly string[]): void {
    this.l1Epoch++;
    void this.l1.delete(keys);
    for (const prefix of prefixes) void this.l1.deleteByPrefix(prefix);
  }

  /** Tells the other instances to drop their L1 copies; a lost message is bounded by their L1 TTL. */
  private announceInvalidation(keys: readonly string[], prefixes: readonly string[], tags: readonly string[] = []): void {
    this.events.emit('invalidation', tags.length ? { keys, prefixes, tags, origin: 'local' } : { keys, prefixes, origin: 'local' });
    this.bus.publish(tags.length ? { kind: 'invalidate', keys, prefixes, tags } : { kind: 'invalidate', keys, prefixes }).catch(() => undefined);
  }

  private withinGrace(entry: CacheEntry, policy: ResolvedPolicy): boolean {
    return Date.now() - entry.freshUntil < Math.max(policy.graceMs, policy.staleWhileRevalidateMs);
  }

  /** The value in `bytes`, read or written under `key`, as a copy of the caller's own (see {@link EntryDecoder}). */
  private decode<T>(key: string, bytes: Buffer, policy: ResolvedPolicy): T {
    return this.decoder.decode<T>(key, policy.codec, bytes, policy.immutable).value;
  }
}

/**
 * The loader's value, untouched, presented as a BYPASS result: for a policy with `cache: false`, or a call its condition or
 * key keeps out of the cache. A loader that throws synchronously rejects.
 */
export async function loadBypassingCache<T, R>(load: () => Promise<T> | T, present: Present<T, R>): Promise<R> {
  return present(await load(), 'BYPASS');
}

/** Spreads a TTL uniformly within ±jitter, so entries written together do not all expire together. */
export function withJitter(ttlMs: number, jitter: number): number {
  if (jitter === 0) return ttlMs;
  return Math.max(1, Math.round(ttlMs * (1 + jitter * (2 * Math.random() - 1))));
}

/**
 * How a fill goes about it: `wait` for another process's load of the key (a caller's fill), `no-wait` (a background
 * refresh stands down when another process is loading), or `store-unreachable` (the read found no store: load once
 * in this process, take no lock and write nothing, since each would only wait out its own timeout).
 */
type FillMode = 'wait' | 'no-wait' | 'store-unreachable';

/** A flight answered by a stale entry (or by nothing, for a background refresh that stood down). */
function staleFlight(entry: ReadEntry | undefined): Flight {
  return { value: entry?.value, bytes: entry?.bytes, status: 'STALE' };
}


/**
 * A follower's own copy when no stored bytes exist (the store write failed or timed out): a structured clone, or the
 * value itself when it cannot be cloned (functions), the one case where callers share an object.
 */
function cloneForCaller(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `produce()`'s value (or rejection) as a promise, produced in a microtask like a store's answer would be. */
function settleWith<R>(produce: () => R): Promise<Awaited<R>> {
  return Promise.resolve().then(produce) as Promise<Awaited<R>>;
}
