/**
 * The Redis keys of a namespace's write-behind queue. They sit outside `namespace:` on purpose: clearing the
 * namespace (`@CacheEvict({ allEntries: true })`) drops cached entries, never writes still owed to the database.
 * They share one hash tag, `{<namespace>~wb}`, so they live in one hash slot and a script may touch them together.
 */
export interface WriteBehindKeys {
  /** The Redis Stream of queued writes; only writes not yet flushed stay in it. */
  readonly stream: string;
  /** Hash: entry key -> id of its newest queued write, read on a miss so that the database's older row is not. */
  readonly pending: string;
  /** The lease of the one flusher allowed to flush. */
  readonly leader: string;
  /** The Redis Stream of writes whose handler kept failing, moved out of the queue to be inspected and replayed. */
  readonly deadLetters: string;
}

/** Consumer group of the flushers. */
export const WRITE_BEHIND_GROUP = 'flushers';

/**
 * The write-behind keys of `namespace`.
 * @example writeBehindKeys('blog').deadLetters // '{blog~wb}:dead'
 */
export function writeBehindKeys(namespace: string): WriteBehindKeys {
  const tag = `{${namespace}~wb}`;
  return { stream: `${tag}:queue`, pending: `${tag}:pending`, leader: `${tag}:leader`, deadLetters: `${tag}:dead` };
}

/** The version of a stream id `ms-seq`: `ms * 1e6 + seq`, increasing with the id and within a Postgres bigint. */
export function versionOf(id: string): bigint {
  const [ms, seq] = id.split('-');
  return BigInt(ms) * 1_000_000n + BigInt(seq ?? '0');
}
