/**
 * A child process holding its own Nest application with a CacheModule, for tests across processes (several
 * instances of an app sharing one Redis). Started by {@link startCacheWorker}; never run by jest itself.
 *
 * Protocol (IPC): the worker sends `ready` once its app is up. For every `run` job it waits for `go`, then issues
 * `calls` concurrent `CacheService.getOrSet` calls on one key, whose loader INCRs `counterKey` in Redis (so loads
 * are counted across processes), reports `loading`, sleeps `loaderMs` and returns `{ loadedBy, load }`. It answers
 * with `done`: each caller's latency from `go`, and each caller's value.
 *
 * Consistency runs (consistency-workload.ts): `consistency` runs readers and writers until the spec's deadline and
 * answers `history` with every operation; `snapshot` answers `snapshot` with each row's L1 copy and a read of it.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Redis from 'ioredis';
import { CacheEngine, CacheModule, type CachePolicyOptions, CacheService } from '@app/cache';
import type { HistoryOp } from './consistency-history';
import { type ConsistencyLoadSpec, type RowSnapshot, runConsistencyLoad, snapshotRows } from './consistency-workload';

/** What the worker is started with (passed as JSON in the CACHE_WORKER environment variable). */
export interface CacheWorkerConfig {
  redisUrl: string;
  namespace: string;
  policies: Record<string, CachePolicyOptions>;
}

/** One burst of concurrent calls. */
export interface CacheWorkerJob {
  id: number;
  key: string;
  policy: string;
  calls: number;
  loaderMs: number;
  counterKey: string;
}

/** Messages from the worker to its parent. */
export type CacheWorkerMessage =
  | { type: 'ready' }
  | { type: 'loading'; id: number }
  | { type: 'done'; id: number; latencies: number[]; values: unknown[] }
  | { type: 'failed'; id: number; error: string }
  | { type: 'history'; id: number; ops: HistoryOp[] }
  | { type: 'snapshot'; id: number; rows: RowSnapshot[] };

/** Messages from the parent to the worker. */
export type CacheWorkerCommand =
  | { type: 'run'; job: CacheWorkerJob }
  | { type: 'go'; id: number }
  | { type: 'exit' }
  | { type: 'consistency'; id: number; spec: ConsistencyLoadSpec }
  | { type: 'snapshot'; id: number; spec: ConsistencyLoadSpec };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.CACHE_WORKER ?? '') as CacheWorkerConfig;

  @Module({ imports: [CacheModule.forRoot({ redis: config.redisUrl, namespace: config.namespace, policies: config.policies })] })
  class WorkerModule {}

  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
  const cache = app.get(CacheService);
  const counter = new Redis(config.redisUrl);
  const jobs = new Map<number, CacheWorkerJob>();
  const send = (message: CacheWorkerMessage) => process.send?.(message);

  const run = async (job: CacheWorkerJob) => {
    const started = performance.now();
    const loader = async () => {
      const load = await counter.incr(job.counterKey);
      send({ type: 'loading', id: job.id });
      await new Promise((resolve) => setTimeout(resolve, job.loaderMs));
      return { loadedBy: process.pid, load };
    };
    const latencies: number[] = [];
    const values = await Promise.all(
      Array.from({ length: job.calls }, async () => {
        const value = await cache.getOrSet(job.key, loader, { policy: job.policy });
        latencies.push(performance.now() - started);
        return value;
      }),
    );
    send({ type: 'done', id: job.id, latencies, values });
  };

  process.on('message', (command: CacheWorkerCommand) => {
    if (command.type === 'run') jobs.set(command.job.id, command.job);
    if (command.type === 'go') {
      const job = jobs.get(command.id);
      jobs.delete(command.id);
      if (job) run(job).catch((error: Error) => send({ type: 'failed', id: command.id, error: error.stack ?? error.message }));
    }
    if (command.type === 'consistency' || command.type === 'snapshot') {
      const deps = { cache, engine: app.get(CacheEngine), db: counter };
      const fail = (error: Error) => send({ type: 'failed', id: command.id, error: error.stack ?? error.message });
      if (command.type === 'consistency') runConsistencyLoad(deps, command.spec).then((ops) => send({ type: 'history', id: command.id, ops }), fail);
      else snapshotRows(deps, command.spec).then((rows) => send({ type: 'snapshot', id: command.id, rows }), fail);
    }
    if (command.type === 'exit') {
      void Promise.all([app.close(), counter.quit()]).finally(() => process.exit(0));
    }
  });
  send({ type: 'ready' });
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
