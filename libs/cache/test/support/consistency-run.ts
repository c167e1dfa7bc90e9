/**
 * Drives one scenario of the consistency workload across several cache workers and checks the result: the history
 * (consistency-history.ts) and the state at quiescence (after the load stopped and every operation in flight
 * finished, every cached copy, in the shared store and in each worker's L1, must hold the database's version).
 * Shared by libs/cache/test/consistency/history.spec.ts and bench/consistency.
 */
import type Redis from 'ioredis';
import type { CacheWorker } from './cache-worker-process';
import { checkHistory, type HistoryOp, type HistoryReport } from './consistency-history';
import { type ConsistencyLoadSpec, now } from './consistency-workload';

/** The outcome of one scenario. */
export interface ScenarioResult {
  name: string;
  report: HistoryReport;
  /** Cached copies (shared store + every worker's L1) that differ from the database at quiescence (all rounds). */
  staleEntries: number;
  staleL2Entries: number;
  staleL1Entries: number;
  /** Rows whose shared-store entry existed at quiescence (so the check saw something). */
  cachedRows: number;
  /** Reads issued after quiescence (one per row per worker) that returned another version than the database's. */
  staleReadsAfterQuiescence: number;
  ops: HistoryOp[];
}

/** How long after the load to wait before checking, for bus messages still on their way. */
const SETTLE_MS = 100;

/**
 * Runs `spec` on every worker at once (same start instant) in `rounds` rounds of `durationMs / rounds`, each followed
 * by a check at quiescence, then checks the whole history. Several quiescent points make the anchor's stale entries
 * (which need a stale fill after a row's last write) near certain, and give ours more chances to fail.
 * `namespace` is the workers' cache namespace (the shared-store key of row `k` is `<namespace>:row:k` for ours).
 */
export async function runScenario(
  name: string,
  workers: readonly CacheWorker[],
  redis: Redis,
  namespace: string,
  spec: Omit<ConsistencyLoadSpec, 'startAt'>,
  rounds = 1,
): Promise<ScenarioResult> {
  const results: ScenarioResult[] = [];
  for (let round = 0; round < rounds; round++) {
    results.push(await runRound(name, workers, redis, namespace, { ...spec, durationMs: spec.durationMs / rounds }));
  }
  const ops = results.flatMap((result) => result.ops);
  const sum = (field: 'staleEntries' | 'staleL2Entries' | 'staleL1Entries' | 'cachedRows' | 'staleReadsAfterQuiescence') =>
    results.reduce((total, result) => total + result[field], 0);
  return {
    name,
    report: checkHistory(ops),
    staleEntries: sum('staleEntries'),
    staleL2Entries: sum('staleL2Entries'),
    staleL1Entries: sum('staleL1Entries'),
    cachedRows: sum('cachedRows'),
    staleReadsAfterQuiescence: sum('staleReadsAfterQuiescence'),
    ops,
  };
}

async function runRound(
  name: string,
  workers: readonly CacheWorker[],
  redis: Redis,
  namespace: string,
  spec: Omit<ConsistencyLoadSpec, 'startAt'>,
): Promise<ScenarioResult> {
  const full: ConsistencyLoadSpec = { ...spec, startAt: now() + 100 };
  const histories = await Promise.all(workers.map((worker) => worker.consistency(full)));
  const ops = histories.flat();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

  const database = await redis.hgetall(spec.dbKey);
  const latest = (row: string) => Number(database[row] ?? 0);
  // The shared store first, before any snapshot read can refill it.
  const keyOf = (row: string) => (spec.mode === 'ours' ? `${namespace}:row:${row}` : `${spec.naivePrefix}:row:${row}`);
  const raws = await redis.mget(...spec.rows.map(keyOf));
  let staleL2Entries = 0;
  let cachedRows = 0;
  spec.rows.forEach((row, index) => {
    const raw = raws[index];
    if (raw === null) return;
    cachedRows++;
    const parsed = JSON.parse(raw) as { v?: { version: number }; version?: number };
    const version = spec.mode === 'ours' ? parsed.v!.version : parsed.version!;
    if (version !== latest(row)) staleL2Entries++;
  });

  let staleL1Entries = 0;
  let staleReadsAfterQuiescence = 0;
  const snapshots = await Promise.all(workers.map((worker) => worker.snapshot(full)));
  for (const rows of snapshots) {
    for (const snapshot of rows) {
      if (snapshot.cacheKey !== keyOf(snapshot.row)) throw new Error(`unexpected cache key ${snapshot.cacheKey} for row ${snapshot.row}`);
      if (snapshot.l1Version !== null && snapshot.l1Version !== latest(snapshot.row)) staleL1Entries++;
      if (snapshot.readVersion !== latest(snapshot.row)) staleReadsAfterQuiescence++;
    }
  }
  return {
    name,
    report: checkHistory(ops),
    staleEntries: staleL2Entries + staleL1Entries,
    staleL2Entries,
    staleL1Entries,
    cachedRows,
    staleReadsAfterQuiescence,
    ops,
  };
}

/** One line per scenario, for the console. */
export function describeScenario(result: ScenarioResult): string {
  const { report } = result;
  return (
    `${result.name}: ${report.reads} reads, ${report.writes} writes; stale reads ${report.staleReads.length} ` +
    `(window p50 ${report.windowP50Ms.toFixed(1)} ms, p99 ${report.windowP99Ms.toFixed(1)} ms, max ${report.windowMaxMs.toFixed(1)} ms); ` +
    `at quiescence: stale entries ${result.staleEntries} (L2 ${result.staleL2Entries}, L1 ${result.staleL1Entries}, ` +
    `${result.cachedRows} rows cached), stale reads ${result.staleReadsAfterQuiescence}`
  );
}
