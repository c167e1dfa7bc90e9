import type { Duration } from '../options/duration';
import type { CacheKeySpec } from '../keys/key-template';
import { CACHE_OPERATIONS_METADATA } from '../cache.constants';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Options of {@link Cacheable}. `A` is the method's argument tuple, `R` its (awaited) result. */
export interface CacheableOptions<A extends unknown[] = any[], R = any> {
  /** The entry's key: a function of the arguments, or a template such as `'credential:{0}'`. */
  key: CacheKeySpec<A>;
  /** Name of a registered policy. Default: the module's default policy. */
  policy?: string;
  /** Overrides the policy's TTL for this method only. */
  ttl?: Duration;
  /** Decides before the call whether the cache is used at all; false calls the method directly. */
  condition?: (args: A) => boolean;
  /** Decides after a load whether the result is kept out of the cache (e.g. partial results). */
  unless?: (result: R, args: A) => boolean;
  /**
   * Tags of the entry: invalidating any of them (`@CacheEvict({ tags })`, `CacheService.invalidate({ tags })`) makes
   * it a miss in every instance. A list, or a function of the arguments and the result.
   * @example tags: (args, credential) => [`org:${credential.orgId}`]
   */
  tags?: readonly string[] | ((args: A, result: R) => readonly string[]);
}

/** Options of {@link CacheEvict}. Give `key`, `keys`, `tags` or `allEntries`. */
export interface CacheEvictOptions<A extends unknown[] = any[]> {
  /** The key to delete. After the call (the default) a template may use `{result...}`. */
  key?: CacheKeySpec<A>;
  /** Several keys to delete in one command. */
  keys?: ReadonlyArray<CacheKeySpec<A>>;
  /**
   * Deletes a whole group with SCAN + UNLINK in batches (never KEYS): `true` for every key of the namespace, or a
   * key prefix (template allowed) such as `'user:{0}'` for every key under `namespace:user:<id>:`.
   */
  allEntries?: boolean | CacheKeySpec<A>;
  /** Invalidates every entry carrying one of these tags. A list, or a function of the arguments and the result. */
  tags?: readonly string[] | ((args: A, result: any) => readonly string[]);
  /** Deletes before the method runs instead of after it succeeds. Default false. */
  beforeInvocation?: boolean;
}

/** Options of {@link WriteThrough}. */
export interface WriteThroughOptions<A extends unknown[] = any[], R = any> {
  /** The key to write: a function of the arguments or a template; `{result.id}` reads the method's result. */
  key: CacheKeySpec<A>;
  /** Name of a registered policy. Default: the module's default policy. */
  policy?: string;
  /** Overrides the policy's TTL for this method only. */
  ttl?: Duration;
  /** What to cache, when it is not the method's result itself (e.g. the entity inside a response). */
  value?: (result: R, args: A) => unknown;
}

/** Options of {@link WriteBehind}. */
export interface WriteBehindDecoratorOptions<A extends unknown[] = any[], R = any> {
  /** The key to write: a function of the arguments or a template; `{result.id}` reads the method's result. */
  key: CacheKeySpec<A>;
  /** Name of a registered policy (without `l1`). Default: the module's default policy. */
  policy?: string;
  /** Overrides the policy's TTL for this method only. */
  ttl?: Duration;
  /** Name of the flush handler that writes these values to the database (`writeBehind.handlers` or `@WriteBehindHandler`). */
  flush: string;
  /** What to write, when it is not the method's result itself. */
  value?: (result: R, args: A) => unknown;
}

/** One recorded decorator use. Decorators only record these; the explorer acts on them. */
export type CacheOperation =
  | ({ kind: 'cacheable' } & CacheableOptions)
  | ({ kind: 'evict' } & CacheEvictOptions)
  | ({ kind: 'writeThrough' } & WriteThroughOptions)
  | ({ kind: 'writeBehind' } & WriteBehindDecoratorOptions);

/**
 * Appends an operation to a method's metadata (a method may carry several, e.g. write-through plus evicts). The
 * explorer wraps the method, on a provider or a controller, when the application starts.
 */
export function recordOperation(operation: CacheOperation): MethodDecorator {
  return (_target, _propertyKey, descriptor) => {
    const method = descriptor.value as object;
    const existing: CacheOperation[] = Reflect.getMetadata(CACHE_OPERATIONS_METADATA, method) ?? [];
    Reflect.defineMetadata(CACHE_OPERATIONS_METADATA, [...existing, operation], method);
    return descriptor;
  };
}

/** The operations recorded on a method, if any. */
export function getOperations(method: unknown): CacheOperation[] | undefined {
  return typeof method === 'function' ? Reflect.getMetadata(CACHE_OPERATIONS_METADATA, method) : undefined;
}
