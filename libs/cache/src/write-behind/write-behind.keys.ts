/**
 * The Redis keys of a namespace's write-behind queue. They sit outside `namespace:` on purpose: clearing the
 * namespace (`@CacheEvict({ allEntries: true })`) drops cached entries, never writes still owed to the database.
 */
export interface WriteBehindKeys {
  /** The Redis Stream of queued writes; only writes not yet flushed stay in it. */
  readonly stream: string;
  /** Hash: entry key -> id of its newest queued write, read on a miss so that the database's older row is not. */
  readonly pending: string;
  /** The lease of the one flusher allowed to flush. */
  readonly leader: string;
}

/** Consumer group of the flushers. */
export const WRITE_BEHIND_GROUP = 'flushers';

export function writeBehindKeys(namespace: string): WriteBehindKeys {
  return { stream: `${namespace}~wb:queue`, pending: `${namespace}~wb:pending`, leader: `${namespace}~wb:leader` };
}

/** The version of a stream id `ms-seq`: `ms * 1e6 + seq`, increasing with the id and within a Postgres bigint. */
export function versionOf(id: string): bigint {
  const [ms, seq] = id.split('-');
  return BigInt(ms) * 1_000_000n + BigInt(seq ?? '0');
}
