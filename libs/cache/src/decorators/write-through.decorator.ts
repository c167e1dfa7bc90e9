import { recordOperation, type WriteThroughOptions } from './cache-operation';

/**
 * Write-through: the method is the database write; once it succeeds, its result becomes the cached entry, so the
 * next read sees the new value without waiting for a TTL. The database is always written first. If the method
 * throws, the cache is untouched; if the cache write fails, the key is deleted (no stale value survives) and the
 * method's result is still returned.
 * @example
 * @WriteThrough({ key: 'credential:{0}', policy: 'credential' })
 * revoke(id: string): Promise<Credential> { ... }
 */
export function WriteThrough<A extends unknown[] = any[], R = any>(options: WriteThroughOptions<A, R>): MethodDecorator { // eslint-disable-line @typescript-eslint/no-explicit-any
  return recordOperation({ kind: 'writeThrough', ...(options as WriteThroughOptions) });
}
