import { type CacheEvictOptions, recordOperation } from './cache-operation';

/**
 * Deletes cache entries when the method succeeds (or before it runs, with `beforeInvocation`). If the method throws,
 * nothing is deleted (unless deleted before it ran).
 * @example
 * @CacheEvict({ key: 'user:{0}:profile' })
 * updateProfile(userId: string, changes: ProfileChanges) { ... }
 */
export function CacheEvict<A extends unknown[] = any[]>(options: CacheEvictOptions<A>): MethodDecorator { // eslint-disable-line @typescript-eslint/no-explicit-any
  return recordOperation({ kind: 'evict', ...(options as CacheEvictOptions) });
}
