import type Redis from 'ioredis';
import type { CachePolicyOptions } from '@app/cache';
import { type CacheWorker, startCacheWorker } from '../support/cache-worker-process';
import { checkHistory, type HistoryOp } from '../support/consistency-history';
import { describeScenario, runScenario, type ScenarioResult } from '../support/consistency-run';
import type { ConsistencyLoadSpec } from '../support/consistency-workload';
import { cleanNamespace, rawRedis, redisUrl, uniqueNamespace } from '../support/redis';

/**
 * Randomized consistency check (Jepsen-style, small): two app instances in separate processes share one Redis and a
 * linearizable "database" (a Redis hash, one version per row). Readers (getOrSet, loader with a few ms of delay after
 * the row read, so fills overlap writes) and writers (database write, then write-through or eviction, holding the
 * row's lock until the cache acknowledged) hammer six rows for a few seconds; every operation is recorded with its
 * start and end time and the version it read or wrote, then the history is checked:
 *   (a) zero stale entries at quiescence (checked after each of five rounds), in the shared store and in every
 *       instance's L1;
 *   (b) policy `strong` (L1 off, writers write through or evict): no read that starts after a write was acknowledged
 *       returns an older version;
 *   (c) policy `l1`: the staleness window of each stale read (how long after the newer write's acknowledgement it
 *       started), p99 printed and bounded generously.
 * Naive cache-aside (GET, load, SET; writers SET or DEL) runs the same schedule first, as the anchor: it must leave
 * stale entries, or the schedule is not adversarial enough to prove anything.
 * Strong writers evict half the time: a read that starts within the bus's delivery time after a remote delete must not
 * join a load that began before it (an interleaving remote-delete-flight.spec.ts also forces).
 */
const namespace = uniqueNamespace('consistency');
const dbKey = `${namespace}-db`;
const policies: Record<string, CachePolicyOptions> = {
  strong: { ttl: '1m', earlyRefreshBeta: 0 },
  l1: { ttl: '1m', l1: true, earlyRefreshBeta: 0 },
};
const DURATION_MS = 2_500;
/** Quiescent points per scenario: the load stops, settles and is checked this many times. */
const ROUNDS = 5;

function schedule(mode: ConsistencyLoadSpec['mode'], policy: string, evictShare: number): Omit<ConsistencyLoadSpec, 'startAt'> {
  return {
    mode,
    policy,
    rows: Array.from({ length: 6 }, (_, i) => `${mode}-${policy}-${i}`),
    dbKey,
    naivePrefix: `${namespace}-naive`,
    durationMs: DURATION_MS,
    readers: 8,
    writers: 2,
    loaderMs: [1, 8],
    readerPauseMs: [0, 2],
    writerPauseMs: [2, 12],
    evictShare,
  };
}

describe('randomized consistency history (2 processes, one Redis, one database)', () => {
  let redis: Redis;
  let workers: CacheWorker[] = [];

  beforeAll(async () => {
    redis = rawRedis();
    workers = await Promise.all([0, 1].map(() => startCacheWorker({ redisUrl: redisUrl(), namespace, policies })));
  }, 30_000);
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await cleanNamespace(redis, namespace);
    await cleanNamespace(redis, `${namespace}-naive`);
    await redis.del(dbKey);
    await cleanNamespace(redis, dbKey);
    await redis.quit();
  });

  it('naive cache-aside leaves stale entries; ours leaves none, strong reads are never stale, L1 staleness is bounded', async () => {
    const results: ScenarioResult[] = [];
    for (const [name, mode, policy, evictShare] of [
      ['naive cache-aside (writers SET or DEL)', 'naive', 'strong', 0.5],
      ['ours, strong (L1 off, write-through or evict)', 'ours', 'strong', 0.5],
      ['ours, L1 on (write-through or evict)', 'ours', 'l1', 0.5],
    ] as const) {
      results.push(await runScenario(name, workers, redis, namespace, schedule(mode, policy, evictShare), ROUNDS));
    }
    const [naive, strong, l1] = results;
    for (const result of results) console.log(describeScenario(result));

    // The history and the clocks are sane: nobody read a version no write had started yet.
    for (const result of results) expect(result.report.impossibleReads).toEqual([]);
    // Every scenario saw real contention.
    for (const result of results) {
      expect(result.report.writes).toBeGreaterThan(100);
      expect(result.report.reads).toBeGreaterThan(500);
    }

    // The anchor: the same schedule against naive cache-aside leaves stale entries behind.
    expect(naive.staleEntries).toBeGreaterThan(0);

    // (a) ours: nothing stale at quiescence, in either policy, in the store or in any L1.
    expect(strong.staleEntries).toBe(0);
    expect(strong.staleReadsAfterQuiescence).toBe(0);
    expect(l1.staleL2Entries).toBe(0);
    expect(l1.staleL1Entries).toBe(0);

    // (b) strong: no read that started after a write's acknowledgement returned an older version.
    expect(strong.report.staleReads.map(({ read, expected, windowMs }) => ({ ...read, expected, windowMs }))).toEqual([]);

    // (c) L1: stale reads are bounded by the bus's delivery time; the target on loopback is p99 < 50 ms.
    console.log(`L1 staleness window: ${l1.report.staleReads.length} stale reads, p99 ${l1.report.windowP99Ms.toFixed(1)} ms (target < 50 ms)`);
    expect(l1.report.windowP99Ms).toBeLessThan(500);
  }, 60_000);

  it('the checker flags a read that starts after an acknowledged write and returns the older version', () => {
    const op = (kind: HistoryOp['kind'], start: number, end: number, version: number): HistoryOp => ({ kind, key: 'k', pid: 1, start, end, version });
    const report = checkHistory([
      op('write', 0, 10, 1),
      op('read', 5, 12, 0), // concurrent with the write: either version is fine
      op('read', 11, 13, 1),
      op('read', 14, 15, 0), // stale, 4 ms after the acknowledgement
      op('read', 20, 21, 2), // a version nobody wrote
    ]);
    expect(report.staleReads).toHaveLength(1);
    expect(report.staleReads[0]).toMatchObject({ expected: 1, windowMs: 4 });
    expect(report.impossibleReads).toHaveLength(1);
  });
});
