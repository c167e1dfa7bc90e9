import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import type { CachePolicyOptions } from '../../libs/cache/src';
import { type CacheWorker, startCacheWorker } from '../../libs/cache/test/support/cache-worker-process';
import { runScenario, describeScenario, type ScenarioResult } from '../../libs/cache/test/support/consistency-run';
import type { ConsistencyLoadSpec } from '../../libs/cache/test/support/consistency-workload';
import { deleteMatching, findBenchRedis, redisVersion } from '../support/redis';
import { round1, textTable } from '../support/stats';

/**
 * `npm run bench:consistency`: the randomized consistency workload of libs/cache/test/consistency/history.spec.ts,
 * longer and on more rows. Two app instances in separate processes share one Redis and a linearizable "database"
 * (a Redis hash, one version per row); readers getOrSet with a loader that waits a few ms after reading the row,
 * writers update the row then write through or evict (holding the row's lock until the cache acknowledged). Naive
 * cache-aside runs the same schedule as the anchor. Reports stale entries at quiescence (checked after each round),
 * stale reads of the strong policy (L1 off, write-through) and the p99 staleness window of the L1 policy.
 * Prints a table, writes bench/results/consistency.json, last line one JSON summary.
 */
const ROOT = resolve(__dirname, '..', '..');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'consistency.json');
const ROWS = Number(process.env.CONSISTENCY_ROWS ?? 32);
const DURATION_MS = Number(process.env.CONSISTENCY_DURATION_MS ?? 20_000);
const ROUNDS = 10;
const policies: Record<string, CachePolicyOptions> = {
  strong: { ttl: '1m', earlyRefreshBeta: 0 },
  l1: { ttl: '1m', l1: true, earlyRefreshBeta: 0 },
};
const log = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const redisServer = await findBenchRedis();
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const namespace = `bench:consistency:${runId}`;
  const dbKey = `bench-db:consistency:${runId}`;
  const redis = new Redis(redisServer.url);
  const schedule = (mode: ConsistencyLoadSpec['mode'], policy: string, evictShare: number): Omit<ConsistencyLoadSpec, 'startAt'> => ({
    mode,
    policy,
    rows: Array.from({ length: ROWS }, (_, i) => `${mode}-${policy}-${evictShare}-${i}`),
    dbKey,
    naivePrefix: `bench:consistency-naive:${runId}`,
    durationMs: DURATION_MS,
    readers: 16,
    writers: 4,
    loaderMs: [1, 8],
    readerPauseMs: [0, 2],
    writerPauseMs: [1, 6],
    evictShare,
  });
  log(`consistency benchmark, run ${runId}, Redis ${redisServer.url} (${redisServer.source}), ${ROWS} rows, ${DURATION_MS / 1000} s per scenario in ${ROUNDS} rounds, 2 processes`);
  let workers: CacheWorker[] = [];
  const results: ScenarioResult[] = [];
  try {
    workers = await Promise.all([0, 1].map(() => startCacheWorker({ redisUrl: redisServer.url, namespace, policies })));
    for (const [name, mode, policy, evictShare] of [
      ['naive cache-aside', 'naive', 'strong', 0.5],
      ['ours strong (L1 off, write-through)', 'ours', 'strong', 0],
      ['ours L1 (write-through or evict)', 'ours', 'l1', 0.5],
      ['ours L1 off, write-through or evict', 'ours', 'strong', 0.5],
    ] as const) {
      const result = await runScenario(name, workers, redis, namespace, schedule(mode, policy, evictShare), ROUNDS);
      log(describeScenario(result));
      results.push(result);
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    const deleted = (await deleteMatching(redisServer.url, `*${runId}*`).catch(() => -1)) as number;
    log(`cleaned up ${deleted} keys of run ${runId}`);
    const version = await redisVersion(redisServer.url).catch(() => 'unknown');
    redis.disconnect();
    await redisServer.stop();
    if (results.length === 4) report(results, version);
  }
}

function report(results: ScenarioResult[], redisVersionText: string): void {
  const rows = results.map((result) => ({
    scenario: result.name,
    reads: result.report.reads,
    writes: result.report.writes,
    staleReads: result.report.staleReads.length,
    staleReadPct: round1((100 * result.report.staleReads.length) / Math.max(1, result.report.reads)),
    windowP50Ms: round1(result.report.windowP50Ms),
    windowP99Ms: round1(result.report.windowP99Ms),
    windowMaxMs: round1(result.report.windowMaxMs),
    staleEntries: result.staleEntries,
    staleReadsAfterQuiescence: result.staleReadsAfterQuiescence,
    impossibleReads: result.report.impossibleReads.length,
  }));
  log('');
  log(textTable(rows, Object.keys(rows[0])));
  const [naive, strong, l1, evicting] = results;
  const summary = {
    bench: 'consistency',
    staleEntries: strong.staleEntries + l1.staleEntries + evicting.staleEntries,
    strongStaleReads: strong.report.staleReads.length,
    l1StalenessP99Ms: round1(l1.report.windowP99Ms),
    naiveStaleEntries: naive.staleEntries,
    title: 'Consistency under concurrent reads and writes (2 processes)',
    description:
      `Two app instances in separate processes, one Redis, a linearizable database (Redis hash, one version per row); ${ROWS} rows, ` +
      `${DURATION_MS / 1000} s per scenario in ${ROUNDS} rounds, each followed by a check at quiescence; 16 readers (loader waits 1-8 ms after the row read) ` +
      'and 4 writers (row lock held from the database write until the cache acknowledged) per process. A stale read started after a newer write was acknowledged; ' +
      'its window is how long after. Stale entries: cached copies (Redis and every L1) that differ from the database at quiescence.',
    tables: { 'Consistency (same schedule for every row of the table)': rows },
    notes: [
      'The last row (L1 off, with evictions) shows the library bug reported in libs/cache/test/consistency/remote-delete-flight.spec.ts: a read that starts within the bus delivery time after a remote delete can join a load that began before it.',
    ],
    environment: { cpus: cpus().length, node: process.version, redis: redisVersionText },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...summary, generatedAt: new Date().toISOString() }, null, 2)}\n`);
  log(`wrote ${RESULTS_FILE}`);
  log(JSON.stringify(summary));
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
