import { type CacheableOptions, recordOperation } from './cache-operation';

/**
 * Cache-aside / read-through: returns the cached result for the key when there is one, else calls the method,
 * caches its result under the policy's TTL (with jitter) and returns it. Works on provider methods and on
 * controller handlers (which also get an `X-Cache: HIT | MISS` header).
 *
 * The decorated method returns a Promise (or an Observable, when declared to return one), even if it was sync.
 * @example
 * @Cacheable({ key: (id: string) => ['credential', id], policy: 'credential' })
 * findCredential(id: string): Promise<Credential | null> { ... }
 */
export function Cacheable<A extends unknown[] = any[], R = any>(options: CacheableOptions<A, R>): MethodDecorator { // eslint-disable-line @typescript-eslint/no-explicit-any
  return recordOperation({ kind: 'cacheable', ...(options as CacheableOptions) });
}
