import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { CacheWorkerCommand, CacheWorkerConfig, CacheWorkerJob, CacheWorkerMessage } from './cache-worker';
import type { HistoryOp } from './consistency-history';
import type { ConsistencyLoadSpec, RowSnapshot } from './consistency-workload';

/** A running {@link CacheWorkerConfig cache worker}: another process with its own app on the same Redis. */
export interface CacheWorker {
  readonly process: ChildProcess;
  /** Sends a job; the worker starts it on {@link go}. */
  prepare(job: Omit<CacheWorkerJob, 'id'>): CacheWorkerRun;
  /** Runs the consistency workload (consistency-workload.ts) and resolves with its history. */
  consistency(spec: ConsistencyLoadSpec): Promise<HistoryOp[]>;
  /** Each row's L1 copy in this worker and what a read of it returns now. */
  snapshot(spec: ConsistencyLoadSpec): Promise<RowSnapshot[]>;
  /** Ends the worker gracefully (its app closes). */
  stop(): Promise<void>;
  /** Ends the worker at once with SIGKILL, as a crash would: no lock release, no cleanup. */
  kill(): Promise<void>;
}

/** One job sent to a worker. */
export interface CacheWorkerRun {
  go(): void;
  /** Resolves when the worker's loader starts (it INCRed the counter). */
  readonly loading: Promise<void>;
  /** Resolves with each caller's latency (ms from go) and value. */
  readonly done: Promise<{ latencies: number[]; values: unknown[] }>;
}

let nextJobId = 1;

/**
 * Forks `cache-worker.ts` (compiled on the fly by test/support/swc-register.js) and resolves once its app is ready.
 * @example
 * const worker = await startCacheWorker({ redisUrl: redisUrl(), namespace, policies: { p: { ttl: '1m' } } });
 */
export async function startCacheWorker(config: CacheWorkerConfig, startTimeoutMs = 20_000): Promise<CacheWorker> {
  const child = fork(join(__dirname, 'cache-worker.ts'), [], {
    execArgv: ['-r', join(__dirname, '../../../../test/support/swc-register.js')],
    env: { ...process.env, CACHE_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const messages = (predicate: (message: CacheWorkerMessage) => boolean) =>
    new Promise<CacheWorkerMessage>((resolve, reject) => {
      const onMessage = (message: CacheWorkerMessage) => {
        if (!predicate(message)) return;
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
      void exited.then(([code, signal]) => {
        child.off('message', onMessage);
        reject(new Error(`cache worker ${child.pid} exited (code ${code}, signal ${signal}) before answering`));
      });
    });
  const ready = messages((message) => message.type === 'ready');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`cache worker not ready after ${startTimeoutMs} ms`)), startTimeoutMs);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const send = (command: CacheWorkerCommand) => child.send(command);
  return {
    process: child,
    prepare(spec) {
      const job: CacheWorkerJob = { ...spec, id: nextJobId++ };
      const loading = messages((message) => message.type === 'loading' && message.id === job.id).then(() => undefined);
      const done = messages((message) => (message.type === 'done' || message.type === 'failed') && message.id === job.id).then((message) => {
        if (message.type === 'failed') throw new Error(`cache worker job failed: ${message.error}`);
        if (message.type !== 'done') throw new Error('unexpected message');
        return { latencies: message.latencies, values: message.values };
      });
      // A job whose worker is killed on purpose never settles; that must not be an unhandled rejection.
      loading.catch(() => undefined);
      done.catch(() => undefined);
      send({ type: 'run', job });
      return { go: () => send({ type: 'go', id: job.id }), loading, done };
    },
    consistency(spec) {
      const id = nextJobId++;
      const reply = messages((message) => (message.type === 'history' || message.type === 'failed') && message.id === id);
      send({ type: 'consistency', id, spec });
      return reply.then((message) => {
        if (message.type !== 'history') throw new Error(`cache worker consistency run failed: ${message.type === 'failed' ? message.error : message.type}`);
        return message.ops;
      });
    },
    snapshot(spec) {
      const id = nextJobId++;
      const reply = messages((message) => (message.type === 'snapshot' || message.type === 'failed') && message.id === id);
      send({ type: 'snapshot', id, spec });
      return reply.then((message) => {
        if (message.type !== 'snapshot') throw new Error(`cache worker snapshot failed: ${message.type === 'failed' ? message.error : message.type}`);
        return message.rows;
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send({ type: 'exit' });
      await exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
