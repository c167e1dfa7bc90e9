import { Logger } from '@nestjs/common';
import type { CacheStore } from '../stores/cache-store.interface';

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

  constructor(
    readonly store: CacheStore,
    private readonly logger: Logger,
    private readonly options: StoreGuardOptions = DEFAULT_STORE_GUARD_OPTIONS,
  ) {}

  /** The breaker's state, for health checks and metrics. */
  get breakerState(): BreakerState {
    return this.state;
  }

  /** Runs a read; resolves to `fallback` when it fails, times out or the breaker is open. */
  read<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F): Promise<T | F> {
    return this.run(operation, call, fallback, this.options.readTimeoutMs);
  }

  /** Runs a write, delete or lock call; resolves to `fallback` when it fails, times out or the breaker is open. */
  write<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F): Promise<T | F> {
    return this.run(operation, call, fallback, this.options.writeTimeoutMs);
  }

  private async run<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F, timeoutMs: number): Promise<T | F> {
    if (!this.admit()) return fallback;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreTimeoutError(operation, timeoutMs)), timeoutMs);
      });
      const result = await Promise.race([call(this.store), timeout]);
      this.succeeded();
      return result;
    } catch (error) {
      this.failed(operation, error);
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether a call may go to the store now; in half-open state only the single probe may. */
  private admit(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && Date.now() - this.openedAt >= this.options.coolDownMs) {
      this.state = 'half-open';
      return true;
    }
    return false;
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.logger.log(`${this.store.name} store answering again; caching resumed`);
  }

  private failed(operation: string, error: unknown): void {
    this.consecutiveFailures++;
    const wasClosed = this.state === 'closed';
    if (this.state === 'half-open' || this.consecutiveFailures >= this.options.failureThreshold) {
      this.state = 'open';
      this.openedAt = Date.now();
    }
    if (wasClosed && this.state === 'open') {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(
        `${this.store.name} store unavailable (${operation}: ${reason}); skipping it for ${this.options.coolDownMs} ms at a time, serving from loaders until it answers`,
      );
    }
  }
}
