/**
 * The sliding-window log behind {@link CacheThrottlerStorage}: every allowed hit is remembered with its time, and a
 * hit is allowed when fewer than `limit` hits happened in the last `windowMs`. Unlike a fixed window (INCR +
 * EXPIRE), it never lets `2 × limit` through around a window boundary: in ANY interval of `windowMs` at most `limit`
 * hits are allowed. Refused hits are not remembered, so a client that keeps retrying gets its next slot as soon as
 * its oldest hit leaves the window (unless a block is set, see `blockMs`).
 */

/** One rate-limit decision, in milliseconds. */
export interface WindowDecision {
  /** Whether this hit is allowed (and was counted). */
  readonly allowed: boolean;
  /** Hits in the window, this one included (a refused hit counts as one more, as @nestjs/throttler's own storage does). */
  readonly hits: number;
  /** Until the oldest hit in the window leaves it (a slot frees up); 0 when the window is empty. */
  readonly resetMs: number;
  /** Until the client may try again when refused: the block's remaining time, else `resetMs`; 0 when allowed. */
  readonly retryMs: number;
}

/** Where the hits of one client live; the Redis and the in-process implementations have the same semantics. */
export interface SlidingWindow {
  /**
   * Records a hit of the client behind `key` if fewer than `limit` hits are in the last `windowMs`.
   * When refused and `blockMs` > 0, the client is refused for `blockMs` without its hits being counted.
   */
  hit(key: WindowKeys, windowMs: number, limit: number, blockMs: number): Promise<WindowDecision>;
}

/** The two keys of one client: its hits and its block marker. */
export interface WindowKeys {
  readonly hits: string;
  readonly block: string;
}
