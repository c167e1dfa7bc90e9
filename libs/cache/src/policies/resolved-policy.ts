import type { CacheCodec } from '../serialization/codec.interface';

/** A policy after normalisation: every field set, durations in milliseconds. */
export interface ResolvedPolicy {
  readonly name: string;
  /** false: never read or write the cache for this data. */
  readonly cache: boolean;
  readonly ttlMs: number;
  /** Fraction of the TTL by which each write is randomly spread (0.1 = ±10 %). */
  readonly jitter: number;
  /** TTL of cached `null` results; undefined when null is not cached. */
  readonly negativeTtlMs: number | undefined;
  readonly codec: CacheCodec;
  readonly staleWhileRevalidateMs: number;
  readonly graceMs: number;
  readonly failSafeBackoffMs: number;
  readonly earlyRefreshBeta: number;
  /** Distributed lock settings; undefined when the policy only uses in-process single-flight. */
  readonly lock: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly softTimeoutMs: number | undefined;
  readonly hardTimeoutMs: number | undefined;
  readonly sliding: boolean;
  /** Encoded entries larger than this are not cached; undefined for no limit. */
  readonly maxBytes: number | undefined;
  /** Timeout of this policy's entry reads; undefined uses the module's `timeouts.read`. */
  readonly readTimeoutMs: number | undefined;
  /** Hits share one deeply frozen value per stored version instead of getting copies of their own. */
  readonly immutable: boolean;
  /** In-process tier: on when set, with an optional cap on how long a copy is kept. */
  readonly l1: { readonly ttlMs: number | undefined } | undefined;
}
