import { recordOperation, type WriteBehindDecoratorOptions } from './cache-operation';

/**
 * Write-behind: the method computes the new value and does NOT write the database. Its value becomes the cached
 * entry and is queued for the database in one atomic step (a Redis Stream); the call returns without waiting for
 * the database. A flusher hands queued writes, in order and coalesced per key, to the flush handler named by
 * `flush`, which must be idempotent (apply a write only when its `version` is newer). When the queue is too long
 * or too old, the call writes through instead: the handler runs in the call. Reads of the key (through @Cacheable)
 * see the newest value, even after the entry is evicted, until the database has it. See docs/write-behind.md:
 * most data should use @WriteThrough.
 * @example
 * @WriteBehind({ key: 'views:{0}', policy: 'views', flush: 'viewCounts' })
 * async recordView(postId: string): Promise<number> { return (await this.views(postId)) + 1; }
 */
export function WriteBehind<A extends unknown[] = any[], R = any>(options: WriteBehindDecoratorOptions<A, R>): MethodDecorator { // eslint-disable-line @typescript-eslint/no-explicit-any
  return recordOperation({ kind: 'writeBehind', ...(options as WriteBehindDecoratorOptions) });
}
