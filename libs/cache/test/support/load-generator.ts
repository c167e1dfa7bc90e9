/**
 * Concurrent load for chaos tests: N callers each call `call` in a loop until stopped, and every call is recorded
 * (when it started, how long it took, whether the loader ran, whether it threw). Windows of the record are then
 * summarised (percentiles, hits, errors) around the moments the test hurt the store.
 * @example
 * const load = startLoad(20, async (caller, n) => {
 *   const loaded = await cache.getOrSet(`item:${n % 50}`, loader);
 *   return { loaded: loaded.fromLoader };
 * });
 * ...; await load.stop();
 * summarise(load.samples, { from: killedAt, to: restartedAt }).p99
 */

import type { CacheService } from '@app/cache';
import { sleep } from './redis';

/** One recorded call. */
export interface Sample {
  /** performance.now() when the call started. */
  readonly at: number;
  readonly ms: number;
  /** Whether the loader ran for this call (false: served from the cache). */
  readonly loaded: boolean;
  readonly error?: unknown;
}

/** A running load. */
export interface Load {
  readonly samples: Sample[];
  /** Stops every caller after its current call and resolves when all have stopped. */
  stop(): Promise<void>;
}

/**
 * Starts `callers` concurrent loops. `call` resolves to whether the loader ran for this call; a rejection is
 * recorded as an error (and the loop goes on).
 */
export function startLoad(callers: number, call: (caller: number, iteration: number) => Promise<boolean>): Load {
  const samples: Sample[] = [];
  let running = true;
  const loops = Array.from({ length: callers }, async (_, caller) => {
    for (let iteration = 0; running; iteration++) {
      const at = performance.now();
      try {
        const loaded = await call(caller, iteration);
        samples.push({ at, ms: performance.now() - at, loaded });
      } catch (error) {
        samples.push({ at, ms: performance.now() - at, loaded: true, error });
      }
      // Let timers and sockets run between calls even when everything is a synchronous-looking hit.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    samples,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** What a window of samples looked like. */
export interface LoadSummary {
  readonly calls: number;
  readonly errors: number;
  readonly hits: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Summarises the samples that started within [from, to) (performance.now() times). */
export function summarise(samples: readonly Sample[], window: { from?: number; to?: number } = {}): LoadSummary {
  const from = window.from ?? -Infinity;
  const to = window.to ?? Infinity;
  const chosen = samples.filter((sample) => sample.at >= from && sample.at < to);
  const sorted = chosen.map((sample) => sample.ms).sort((a, b) => a - b);
  const percentile = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
  return {
    calls: chosen.length,
    errors: chosen.filter((sample) => sample.error !== undefined).length,
    hits: chosen.filter((sample) => !sample.loaded).length,
    p50: round(percentile(50)),
    p99: round(percentile(99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

/** The first sample after `from` that was served from the cache, or undefined. */
export function firstHitAfter(samples: readonly Sample[], from: number): Sample | undefined {
  return samples.filter((sample) => sample.at >= from && !sample.loaded && sample.error === undefined).sort((a, b) => a.at - b.at)[0];
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** 20 callers of `getOrSet`, each on keys of its own (three in turn), every load taking `loaderMs`. */
export function startGetOrSetCallers(cache: CacheService, loaderMs: number): Load {
  return startLoad(20, async (caller, iteration) => {
    let loaded = false;
    await cache.getOrSet(`item:${caller}-${iteration % 3}`, async () => {
      loaded = true;
      await sleep(loaderMs);
      return { caller, at: Date.now() };
    });
    return loaded;
  });
}
