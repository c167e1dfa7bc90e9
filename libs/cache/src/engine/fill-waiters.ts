import type { CacheBus } from '../bus/cache-bus.interface';

/**
 * Lets callers that lost the lock race sleep until the value they wait for lands, instead of polling the store on
 * a fixed sleep. The lock holder publishes `filled` on the bus; every process wakes its local waiters for those keys.
 * A lost message only costs a waiter its bounded wait.
 */
export class FillWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(bus: CacheBus) {
    bus.onMessage(({ message }) => {
      if (message.kind === 'filled') for (const key of message.keys) this.wake(key);
    });
  }

  /**
   * Starts waiting for `key` at once (so a fill that lands while the caller re-checks the store is not missed).
   * `until(ms)` resolves true when woken, false after `ms`; `cancel()` stops waiting.
   */
  register(key: string): { until(ms: number): Promise<boolean>; cancel(): void } {
    let woken = false;
    let resolveWait: ((woken: boolean) => void) | undefined;
    const wake = () => {
      woken = true;
      resolveWait?.(true);
    };
    let set = this.waiters.get(key);
    if (!set) this.waiters.set(key, (set = new Set()));
    set.add(wake);
    const cancel = () => {
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
    };
    return {
      cancel,
      until: (ms) =>
        new Promise<boolean>((resolve) => {
          if (woken) return resolve(true);
          const timer = setTimeout(() => resolveWait?.(false), ms);
          resolveWait = (result) => {
            clearTimeout(timer);
            cancel();
            resolve(result);
          };
        }),
    };
  }

  private wake(key: string): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const wake of set) wake();
  }
}
