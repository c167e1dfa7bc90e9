/**
 * The history checker of the randomized consistency test and of `npm run bench:consistency`: pure functions over a
 * recorded history, no I/O.
 *
 * A history is every read and write of a run, each with its start and end time (epoch milliseconds with sub-ms
 * precision, comparable across processes on one machine) and the row version it read or wrote. The "database" is
 * linearizable and writers of one row are serialized (they hold the row's lock from the database write until the
 * cache has acknowledged), so a row's versions are acknowledged in increasing order.
 */

/** One recorded operation. */
export interface HistoryOp {
  kind: 'read' | 'write';
  key: string;
  /** Process that ran it. */
  pid: number;
  /** Epoch ms when the call started (a write: once it held the row lock, just before the database write). */
  start: number;
  /** Epoch ms when the call returned (a write: when the cache acknowledged; the write is then "acknowledged"). */
  end: number;
  /** Version read, or version written. 0 = the row before any write. */
  version: number;
  /** Writes: how the cache was told (write-through or eviction). */
  via?: 'write-through' | 'evict';
}

/** A read that returned an older version than one acknowledged before the read started. */
export interface StaleRead {
  read: HistoryOp;
  /** The newest version acknowledged before the read started. */
  expected: number;
  /** How long after the acknowledgement of the first newer write the read started, in ms. */
  windowMs: number;
}

/** What {@link checkHistory} found. */
export interface HistoryReport {
  reads: number;
  writes: number;
  staleReads: StaleRead[];
  /** Reads of a version no write had started before the read ended (would mean the checker or clocks are wrong). */
  impossibleReads: HistoryOp[];
  /** Nearest-rank percentiles of the stale reads' windows (0 when there are none). */
  windowP50Ms: number;
  windowP99Ms: number;
  windowMaxMs: number;
}

/**
 * Checks every read against the writes of its key: a read that starts after a write was acknowledged must return
 * that version or a newer one. For each read that does not, records how long after the newer write's
 * acknowledgement it started (its staleness window).
 */
export function checkHistory(ops: readonly HistoryOp[]): HistoryReport {
  const writesByKey = new Map<string, HistoryOp[]>();
  for (const op of ops) if (op.kind === 'write') (writesByKey.get(op.key) ?? writesByKey.set(op.key, []).get(op.key)!).push(op);
  for (const writes of writesByKey.values()) writes.sort((a, b) => a.end - b.end);

  const staleReads: StaleRead[] = [];
  const impossibleReads: HistoryOp[] = [];
  let reads = 0;
  for (const read of ops) {
    if (read.kind !== 'read') continue;
    reads++;
    const writes = writesByKey.get(read.key) ?? [];
    let expected = 0;
    let firstNewerAck: number | undefined;
    let newestStarted = 0;
    for (const write of writes) {
      if (write.start < read.end) newestStarted = Math.max(newestStarted, write.version);
      if (write.end >= read.start) continue;
      expected = Math.max(expected, write.version);
      if (write.version > read.version && (firstNewerAck === undefined || write.end < firstNewerAck)) firstNewerAck = write.end;
    }
    if (read.version > newestStarted) impossibleReads.push(read);
    if (read.version < expected) staleReads.push({ read, expected, windowMs: read.start - firstNewerAck! });
  }
  const windows = staleReads.map((stale) => stale.windowMs).sort((a, b) => a - b);
  return {
    reads,
    writes: ops.length - reads,
    staleReads,
    impossibleReads,
    windowP50Ms: nearestRank(windows, 50),
    windowP99Ms: nearestRank(windows, 99),
    windowMaxMs: windows.length ? windows[windows.length - 1] : 0,
  };
}

/** Nearest-rank percentile of sorted values (0 for none). */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}
