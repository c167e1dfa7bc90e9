import { Logger } from '@nestjs/common';
import type { CacheStore } from '../stores/cache-store.interface';

/**
 * The single door to the shared store. A store failure never reaches a caller: reads become misses, writes and
 * deletes are reported as not done, and the engine decides what that means. An outage is logged once when it starts
 * and once when it ends, never once per request.
 */
export class StoreGuard {
  private failing = false;

  constructor(
    readonly store: CacheStore,
    private readonly logger: Logger,
  ) {}

  /** True while the last store call failed. */
  get degraded(): boolean {
    return this.failing;
  }

  /** Runs one store call; resolves to `fallback` when it fails. */
  async run<T, F>(operation: string, call: (store: CacheStore) => Promise<T>, fallback: F): Promise<T | F> {
    try {
      const result = await call(this.store);
      if (this.failing) this.recovered();
      return result;
    } catch (error) {
      this.failed(operation, error);
      return fallback;
    }
  }

  private failed(operation: string, error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.error(`${this.store.name} store unavailable (${operation}: ${reason}); serving from loaders until it answers`);
  }

  private recovered(): void {
    this.failing = false;
    this.logger.log(`${this.store.name} store answering again; caching resumed`);
  }
}
