import { Logger } from '@nestjs/common';
import type { CacheStore } from '../stores/cache-store.interface';
import type { CacheEvents } from './cache-events';
import { Deadlines } from './deadlines';

/**
 * The single door to the shared store. A store failure never reaches a caller: reads become misses, writes and
 * deletes are reported as not done, and the engine decides what that means.
 *
 * - Every call has a timeout, so a frozen Redis (sockets open, no replies) costs a caller at most that long.
 * - A circuit breaker opens after consecutive failures: calls then skip the store at once (no added latency)
 *   until a cool-down passes and one probe call succeeds.
 * - An outage is logged once when the breaker opens and once when it closes again, never once per request;
 *   isolated failures below the threshold are not an outage.
 */

/** Tuning of {@link StoreGuard}. */
export interface StoreGuardOptions {
  /** Timeout of reads. Default 100 ms. */
  readTimeoutMs: number;
  /** Timeout of writes, deletes and lock calls. Default 250 ms. */
  writeTimeoutMs: number;
  /** Consecutive failures that open the breaker. Default 5. */
  failureThreshold: number;
  /** How long the open breaker skips the store before letting a probe through. Default 1 s. */
  coolDownMs: number;
}

export const DEFAULT_STORE_GUARD_OPTIONS: StoreGuardOptions = {
  readTimeoutMs: 100,
  writeTimeoutMs: 250,
  failureThreshold: 5,
  coolDownMs: 1_000,
};

/** Breaker states: closed (normal), open (skipping the store), half-open (one probe in flight). */
export type BreakerState = 'closed' | 'open' | 'half-open';

class StoreTimeoutError extends Error {
  constructor(operation: string, timeoutMs: number) {
    super(`${operation} timed out after ${timeoutMs} ms`);
  }
}

export class StoreGuard {
  private state: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private readonly deadlines = new Deadlines();

  constructor(
    readonly store: CacheStore,
    private readonly logger: Logger,
    private readonly options: StoreGuardOptions = DEFAULT_STORE_GUARD_OPTIONS,
    private readonly events?: CacheEvents,
  ) {}

  /** The breaker's state, for health checks and metrics. */
  get breakerState(): BreakerState {
    return this.state;
  }

  /**
   * Runs a read; resolves to `fallback` when it fails, times out or the breaker is open. A read made on behalf of
   * several callers counts as that many failures when it fails.
   */
  read<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F, timeoutMs = this.options.readTimeoutMs, callers = 1): Promise<T | F> {
    return new Promise((resolve) => this.run(operation, call, fallback, timeoutMs, callers, resolve));
  }

  /**
   * {@link read} for a caller that already has a promise of its own to settle (the read batcher): `settle` receives
   * the answer or `fallback`, exactly once, without a promise (and a microtask hop) in between.
   */
  readInto<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F, timeoutMs: number, callers: number, settle: (result: T | F) => void): void {
    this.run(operation, call, fallback, timeoutMs, callers, settle);
  }

  /** Runs a write, delete or lock call; resolves to `fallback` when it fails, times out or the breaker is open. */
  write<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F): Promise<T | F> {
    return new Promise((resolve) => this.run(operation, call, fallback, this.options.writeTimeoutMs, 1, resolve));
  }

  /**
   * Settles once, with whichever comes first: the store's answer or the timeout. (An async function racing a timeout
   * promise cost three more promises and as many microtask hops on every hit.)
   */
  private run<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F, timeoutMs: number, callers: number, settle: (result: T | F) => void): void {
    const admission = this.admit();
    if (!admission) {
      settle(fallback);
      return;
    }
    const probe = admission === 'probe';
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      this.deadlines.cancel(deadline);
      this.failed(operation, error, probe, callers);
      settle(fallback);
    };
    const deadline = this.deadlines.start(timeoutMs, () => fail(new StoreTimeoutError(operation, timeoutMs)));
    let answer: Promise<T>;
    try {
      answer = call(this.store);
    } catch (error) {
      fail(error);
      return;
    }
    answer.then((result) => {
      if (settled) return;
      settled = true;
      this.deadlines.cancel(deadline);
      this.succeeded(probe);
      settle(result);
    }, fail);
  }

  /**
   * Whether a call may go to the store now: every call while closed; once open, only the single probe after the
   * cool-down.
   */
  private admit(): 'closed' | 'probe' | false {
    if (this.state === 'closed') return 'closed';
    if (this.state === 'open' && Date.now() - this.openedAt >= this.options.coolDownMs) {
      this.moveTo('half-open');
      return 'probe';
    }
    return false;
  }

  /**
   * Only the probe decides whether an open breaker closes. A call admitted before the breaker opened may still
   * answer afterwards (it was sent before the outage was noticed); its success says nothing about the store now, and
   * letting it close the breaker made a degraded store flap open and closed, logging each time.
   */
  private succeeded(probe: boolean): void {
    if (this.state === 'closed') {
      this.consecutiveFailures = 0;
      return;
    }
    if (!probe) return;
    this.consecutiveFailures = 0;
    this.moveTo('closed');
    this.logger.log(`${this.store.name} store answering again; caching resumed`);
  }

  /** A failure counts towards opening a closed breaker; once open, only a failed probe reopens it for a cool-down. */
  private failed(operation: string, error: unknown, probe: boolean, callers: number): void {
    this.consecutiveFailures += callers;
    this.events?.emit('storeError', { operation, timeout: error instanceof StoreTimeoutError, error });
    if (this.state === 'closed') {
      if (this.consecutiveFailures < this.options.failureThreshold) return;
      this.moveTo('open');
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(
        `${this.store.name} store unavailable (${operation}: ${reason}); skipping it for ${this.options.coolDownMs} ms at a time, serving from loaders until it answers`,
      );
    } else if (probe) {
      this.moveTo('open');
    }
  }

  private moveTo(state: BreakerState): void {
    this.state = state;
    if (state === 'open') this.openedAt = Date.now();
    this.events?.emit('breaker', { state });
  }
}
