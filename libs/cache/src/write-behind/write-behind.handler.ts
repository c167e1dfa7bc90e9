import { SetMetadata } from '@nestjs/common';

/** Metadata key of {@link WriteBehindHandler}. */
export const WRITE_BEHIND_HANDLER_METADATA = 'nest-cache:write-behind-handler';

/**
 * One write handed to a flush handler: the newest value of one key in this batch.
 *
 * Delivery is at least once: after a crash the same write (or an older one of the same key, when a write-through
 * fallback overtook it) can be handed over again. Apply a write only when `version` is newer than the one the row
 * holds, e.g. `INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE t.version < excluded.version`; that makes
 * redelivery and reordering harmless and the final row equal to the last write.
 */
export interface WriteBehindWrite<T = unknown> {
  /** The key as the decorator built it, without the namespace (e.g. `views:42`). */
  readonly key: string;
  /** The tenant the write was made for, when the module has a `tenant` option. */
  readonly tenant?: string;
  /** The value the decorated method produced. */
  readonly value: T;
  /** Position of the write among all writes of the namespace: strictly increasing, fits a Postgres `bigint`. */
  readonly version: bigint;
  /** The queue entry's id (a Redis Stream id), for logs. */
  readonly id: string;
}

/** A flush handler: writes a batch to the database; resolves once it is durable there. Must be idempotent. */
export type WriteBehindFlushFn<T = unknown> = (writes: ReadonlyArray<WriteBehindWrite<T>>) => Promise<void> | void;

/** What a provider decorated with {@link WriteBehindHandler} implements. */
export interface WriteBehindFlushHandler<T = unknown> {
  flush(writes: ReadonlyArray<WriteBehindWrite<T>>): Promise<void> | void;
}

/**
 * Registers a provider as the flush handler `name` of `@WriteBehind({ flush: name })`.
 * @example
 * @WriteBehindHandler('viewCounts')
 * @Injectable()
 * class ViewCountWriter implements WriteBehindFlushHandler<number> {
 *   async flush(writes) { await this.db.query('INSERT ... WHERE views.version < excluded.version', ...) }
 * }
 */
export const WriteBehindHandler = (name: string): ClassDecorator => SetMetadata(WRITE_BEHIND_HANDLER_METADATA, name);
