import type { Contender } from './contenders';
import { epochMs, sleep } from '../support/stats';

/**
 * The two shapes of load the stampede benchmark applies: a burst of concurrent callers on a cold key, and a steady
 * request rate on a hot key that expires again and again. Both time every caller from its call to its answer.
 */

export interface LoadedValue {
  readonly loadedAt: number;
  readonly payload: string;
}

/** Counts calls of a loader that takes `loaderMs`, standing in for a slow database query. */
export class CountingLoader {
  calls = 0;
  /** Epoch ms of the first loader start and of the last loader end, for the timeline. */
  firstStart: number | undefined;
  lastEnd: number | undefined;

  constructor(private readonly loaderMs: number) {}

  /** The value says when it was loaded (epoch ms at the loader's end), so a caller can tell whether it waited for it. */
  readonly load = async (): Promise<LoadedValue> => {
    this.calls += 1;
    this.firstStart ??= epochMs();
    await sleep(this.loaderMs);
    this.lastEnd = epochMs();
    return { loadedAt: this.lastEnd, payload: 'x'.repeat(256) };
  };
}

/** What one burst measured in one process. */
export interface BurstResult {
  readonly latenciesMs: number[];
  readonly loaderCalls: number;
  /** Epoch ms (high resolution) of the first call and of the last answer, comparable across processes. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly errors: number;
  readonly firstError?: string;
  /** Epoch ms of the first loader start, last loader end and first answer in this process (where there was one). */
  readonly loaderStartedAt?: number;
  readonly loaderEndedAt?: number;
  readonly firstAnswerAt?: number;
}

/** `callers` concurrent `getOrSet` calls of one key, all issued before any can be answered. */
export async function burst(contender: Contender, key: string, callers: number, loaderMs: number): Promise<BurstResult> {
  const loader = new CountingLoader(loaderMs);
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let firstAnswerAt: number | undefined;
  const startedAt = epochMs();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      const start = performance.now();
      try {
        await contender.getOrSet(key, loader.load);
        latenciesMs.push(performance.now() - start);
        firstAnswerAt ??= epochMs();
      } catch (error) {
        errors += 1;
        firstError ??= (error as Error).message;
      }
    }),
  );
  const endedAt = epochMs();
  return { latenciesMs, loaderCalls: loader.calls, startedAt, endedAt, errors, firstError, loaderStartedAt: loader.firstStart, loaderEndedAt: loader.lastEnd, firstAnswerAt };
}

/** What a steady-rate run measured. */
export interface SteadyResult extends BurstResult {
  readonly requests: number;
  /**
   * Callers answered with a value loaded after they called: they could not be served from the cache and waited for a
   * load (ran it, or joined one under way). Judged from the value, not from latency, so a stalled event loop or a
   * busy machine does not count as a miss, and a caller served stale while a refresh runs does not either.
   */
  readonly syncMisses: number;
  /** Callers that waited at least `slowMs`: held up by a load they joined part-way (or by anything else). */
  readonly slowCalls: number;
}

/**
 * A hot key at `ratePerSec` for `durationMs`, open loop (requests are issued on schedule whether or not earlier ones
 * have answered). The key is loaded once before the clock starts, so only expiries are measured.
 */
export async function steadyRate(
  contender: Contender,
  key: string,
  options: { ratePerSec: number; durationMs: number; loaderMs: number; slowMs: number },
): Promise<SteadyResult> {
  const loader = new CountingLoader(options.loaderMs);
  await contender.getOrSet(key, loader.load);
  loader.calls = 0;

  const latenciesMs: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  let syncMisses = 0;
  let firstError: string | undefined;
  const fire = () => {
    const start = performance.now();
    const calledAt = epochMs();
    pending.push(
      contender.getOrSet(key, loader.load).then(
        (value) => {
          latenciesMs.push(performance.now() - start);
          if (value.loadedAt >= calledAt) syncMisses += 1;
        },
        (error: Error) => {
          errors += 1;
          firstError ??= error.message;
        },
      ),
    );
  };

  const startedAt = epochMs();
  const total = Math.round((options.ratePerSec * options.durationMs) / 1000);
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((epochMs() - startedAt) * options.ratePerSec) / 1000) + 1);
      while (issued < due) {
        fire();
        issued += 1;
      }
      if (issued >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  return {
    latenciesMs,
    loaderCalls: loader.calls,
    startedAt,
    endedAt: epochMs(),
    errors,
    firstError,
    requests: total,
    syncMisses,
    slowCalls: latenciesMs.filter((ms) => ms >= options.slowMs).length,
  };
}
