import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { CacheCodec } from '../serialization/codec.interface';
import type { CacheStore } from '../stores/cache-store.interface';
import type { WriteBehindOptions } from '../write-behind/write-behind.options';
import type { Duration } from './duration';

/** Name of a built-in codec, or a codec of your own. */
export type CodecOption = 'json' | 'msgpack' | CacheCodec;

/**
 * How one type of data is cached. TTL is a product decision: set it from the staleness the data tolerates.
 * @example { ttl: '10m', negativeTtl: '30s' }
 */
export interface CachePolicyOptions {
  /** How long an entry stays fresh. Default: the default policy's, else 5 minutes. */
  ttl?: Duration;
  /**
   * Random spread applied to every TTL written, as a fraction (0.1 = ±10 %), so that keys written together do
   * not expire together. 0 turns it off. Default: the default policy's, else 0.1.
   */
  jitter?: number;
  /**
   * TTL for `null` results, which guards the database against repeated lookups of rows that do not exist.
   * Not set: the default policy's; when that has none, `null` is not cached. 0 turns it off. `undefined` is never
   * cached.
   */
  negativeTtl?: Duration;
  /**
   * `false` marks data that must never be cached (auth tokens): no key is ever read or written. Default: the default
   * policy's, else true.
   */
  cache?: boolean;
  /** Codec of this policy's entries. Default: the default policy's, else the module's codec. */
  codec?: CodecOption;
  /**
   * Stale-while-revalidate window after an entry stops being fresh: within it the stale value is returned at once
   * and one background refresh runs. Default 0 (off).
   */
  staleWhileRevalidate?: Duration;
  /**
   * Fail-safe window after an entry stops being fresh: when the loader throws or times out, a value this recent is
   * served (marked STALE) instead of the error, and the loader is not retried for `failSafeBackoff`. Default 0 (off).
   */
  grace?: Duration;
  /** How long a served fail-safe value is reused before the loader is tried again. Default 5 s. */
  failSafeBackoff?: Duration;
  /**
   * XFetch β (probabilistic early refresh, VLDB 2015): entries are refreshed in the background shortly before they
   * expire, the earlier the slower their loader. 1 is the paper's optimum, larger refreshes earlier, 0 turns it off.
   * Default 1.
   */
  earlyRefreshBeta?: number;
  /**
   * Distributed lock around loads, so one loader runs per key across every process sharing the store. Waiters are
   * woken when the value lands. `false` keeps only the in-process single-flight. Default on.
   */
  lock?: boolean | LockPolicyOptions;
  /**
   * Soft loader timeout: when a stale value exists (stale-while-revalidate or grace), return it after this long
   * and let the load finish in the background. Default off.
   */
  softTimeout?: Duration;
  /** Hard loader timeout: stop waiting and fail with LoaderTimeoutError (or serve a grace value). Default off. */
  hardTimeout?: Duration;
  /** Sliding expiration for session-like data: every read resets the TTL (one GETEX). Default false. */
  sliding?: boolean;
  /** Largest encoded entry cached, in bytes; larger values are returned but not cached (warned once). Default: no limit. */
  maxBytes?: number;
  /**
   * A promise that callers only read this data: every hit (and every caller that joined a load) then gets one
   * shared, deeply frozen value per stored version of the key in this process, instead of a copy of its own (JSON,
   * 1 KB: a copy costs 1-4 µs per hit). Writing to it throws a TypeError (modules are strict mode). Object.freeze
   * does not reach a Date's time, a Map's or Set's content or binary data: leave those unchanged too. The caller
   * whose call ran the loader gets the loader's own object, as always. Default false.
   */
  immutable?: boolean;
  /**
   * Keep fresh entries in this process too (the L1 tier) for `ttl` at most (default: the entry's own freshness).
   * Writes and evictions anywhere drop L1 copies in every instance through the bus. Default off.
   */
  l1?: boolean | { ttl?: Duration };
  /**
   * Timeout of this policy's entry reads, overriding the module's `timeouts.read`: shorter for data whose loader is
   * cheap (fall through to it sooner), longer for data whose loader is costly. Default: the module's.
   */
  readTimeout?: Duration;
}

/** Tuning of the distributed lock of a policy. */
export interface LockPolicyOptions {
  /**
   * Lock lease. The holder renews it while its loader runs, so it only bounds how long a crashed holder delays the
   * others. Default 2 s.
   */
  ttl?: Duration;
  /** Longest a caller waits for another process's load before loading itself (or serving stale). Default 5 s. */
  wait?: Duration;
}

/** `{ cluster: { nodes, options } }`: connect to a Redis Cluster. */
export interface RedisClusterConnectionOptions {
  cluster: { nodes: ClusterNode[]; options?: ClusterOptions };
}

/**
 * Where the shared (L2) tier lives:
 * - a URL (`redis://user:pass@host:6379/0`, `rediss://` for TLS),
 * - ioredis options (Sentinel included: `{ sentinels: [...], name: 'mymaster' }`),
 * - `{ cluster: { nodes, options } }` for Redis Cluster,
 * - an existing ioredis `Redis` or `Cluster` (the module never closes a connection it did not create).
 */
export type RedisConnectionOption = string | RedisOptions | RedisClusterConnectionOptions | Redis | Cluster;

/** Options of {@link CacheModule.forRoot} and of the factory of {@link CacheModule.forRootAsync}. */
export interface CacheModuleOptions {
  /** The Redis to use as the shared tier. Omit it to run on the in-process store (tests, single-process demos). */
  redis?: RedisConnectionOption;
  /** A store of your own for the shared tier, instead of `redis`. */
  store?: CacheStore;
  /** Prefix of every key this module reads or writes, so several apps or environments share one Redis safely. */
  namespace?: string;
  /** Named policies, one per type of data. Decorators refer to them by name; unknown names fail start-up. */
  policies?: Record<string, CachePolicyOptions>;
  /** The policy of decorators and calls that name none: a policy name, or options. Default `{ ttl: '5m' }`. */
  defaultPolicy?: string | CachePolicyOptions;
  /** Default codec. 'json' (readable in redis-cli, Dates round-trip) unless set. */
  codec?: CodecOption;
  /**
   * Version of the shape of cached values. Change it in a deploy that changes a value's shape: entries written under
   * another version are never read (they read as misses and are replaced), while keys stay the same, so deletes and
   * invalidations from instances of either version still reach them during a rolling deploy.
   */
  formatVersion?: string | number;
  /**
   * The current tenant of a multi-tenant app (e.g. read from AsyncLocalStorage or nestjs-cls), asked on every call:
   * keys of a tenant live under `<namespace>:~t.<tenant>:`, so tenants never read each other's entries. `undefined`
   * (no tenant, e.g. a background job) uses the namespace itself. Clearing the namespace clears every tenant.
   */
  tenant?: () => string | undefined;
  /** Longest a key may be before it is hashed. Default 200 characters. */
  maxKeyLength?: number;
  /** Bounds of the in-process L1 tier used by policies with `l1`. Default 10,000 entries, 64 MiB. */
  l1?: { maxEntries?: number; maxBytes?: number };
  /**
   * How long a store call may take before the caller is served without it. Default read 100 ms, write 250 ms.
   * Raise them for a process that runs near full CPU, where event-loop delay counts against them too.
   */
  timeouts?: { read?: Duration; write?: Duration };
  /** Consecutive store failures that open the breaker (default 5) and how long it stays open (default 1 s). */
  circuitBreaker?: { failureThreshold?: number; coolDown?: Duration };
  /** Behaviour of {@link CacheThrottlerStorage} (the @nestjs/throttler storage on this module's Redis). */
  throttler?: CacheThrottlerOptions;
  /** Queue and flusher of @WriteBehind (see docs/write-behind.md). */
  writeBehind?: WriteBehindOptions;
}

/**
 * How the rate-limiter storage behaves when Redis does not answer.
 * @example { failClosed: true, timeout: '100ms' }
 */
export interface CacheThrottlerOptions {
  /**
   * `false` (default): during a Redis outage every request is let through (fail-open), logged once per outage.
   * `true`: every request is refused (429) until Redis answers again; choose it when the limit is a security
   * control (login, OTP) rather than load shedding.
   */
  failClosed?: boolean;
  /** Longest one rate-limit check waits for Redis before the outage rule applies. Default 100 ms. */
  timeout?: Duration;
}
