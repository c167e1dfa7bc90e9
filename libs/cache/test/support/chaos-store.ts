import type { CacheStore } from '@app/cache';

/** A method of the store contract that {@link ChaosStore} can disturb ('get', 'set', 'delete', ...). */
export type StoreOperation = {
  [K in keyof CacheStore]-?: CacheStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof CacheStore];

// The interface half of the class: every CacheStore method, forwarded at runtime by the constructor, so the
// wrapper keeps up when the store contract grows.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface ChaosStore extends CacheStore {}

/**
 * A fault-injecting wrapper around a real store (bentocache's chaos helper is the model): makes chosen operations
 * fail or slow down on demand, so fail-open behaviour is testable without killing servers. Every method of the
 * inner store is forwarded; calls are counted per operation whether they fail or not.
 * @example
 * const chaos = new ChaosStore(new RedisStore(client));
 * chaos.fail('set');            // every set rejects until heal()
 * chaos.delay('get', 200);      // every get answers 200 ms late
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ChaosStore {
  readonly name = 'chaos';
  /** Calls per operation since creation or the last {@link heal}. */
  readonly calls: Partial<Record<StoreOperation, number>> = {};
  private readonly failures = new Map<StoreOperation, Error>();
  private readonly delays = new Map<StoreOperation, number>();

  constructor(readonly inner: CacheStore) {
    for (const operation of methodNames(inner)) {
      const method = (inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[operation];
      Object.defineProperty(this, operation, {
        value: (...args: unknown[]) => this.disturb(operation as StoreOperation, () => method.apply(inner, args)),
      });
    }
  }

  /** Makes the given operations reject with `error` until {@link heal}. */
  fail(operations: StoreOperation | StoreOperation[], error = new Error('chaos: injected store failure')): this {
    for (const operation of ([] as StoreOperation[]).concat(operations)) this.failures.set(operation, error);
    return this;
  }

  /** Makes the given operations answer `ms` milliseconds late (after which they still fail if told to). */
  delay(operations: StoreOperation | StoreOperation[], ms: number): this {
    for (const operation of ([] as StoreOperation[]).concat(operations)) this.delays.set(operation, ms);
    return this;
  }

  /** Removes every injected failure and delay, and resets the call counts. */
  heal(): this {
    this.failures.clear();
    this.delays.clear();
    for (const operation of Object.keys(this.calls)) delete this.calls[operation as StoreOperation];
    return this;
  }

  /** How many times `operation` was called since creation or the last heal. */
  count(operation: StoreOperation): number {
    return this.calls[operation] ?? 0;
  }

  private async disturb<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    this.calls[operation] = this.count(operation) + 1;
    const delay = this.delays.get(operation);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    const failure = this.failures.get(operation);
    if (failure) throw failure;
    return call();
  }
}

/** Names of the methods an object has through its prototype chain (Object's own excluded). */
function methodNames(target: object): string[] {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(target); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof (target as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}
