import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { WriteBehind, writeBehindKeys } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, sleep, uniqueNamespace } from '../support/redis';
import type { FlusherWorkerConfig } from './support/flusher-worker';
import { applyRows, createRowsTable, PG_URL, readRows } from './support/pg-rows';

/**
 * A flusher process is SIGKILLed twice: inside its database transaction, then after COMMIT but before it
 * acknowledged the batch. A third one finishes. The table must end equal to the last write of every key.
 */

const namespace = uniqueNamespace('wb-crash');
const schema = `wb_${namespace.replace(/[^a-z0-9]/gi, '_')}`.toLowerCase();
const queue = writeBehindKeys(namespace);

interface Flusher {
  readonly child: ChildProcess;
  next(type: 'flushing' | 'committed'): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

async function startFlusher(hold: { holdBeforeCommitMs: number; holdAfterCommitMs: number }): Promise<Flusher> {
  const config: FlusherWorkerConfig = { redisUrl: redisUrl(), pgUrl: PG_URL, namespace, schema, ...hold };
  const child = fork(join(__dirname, 'support/flusher-worker.ts'), [], {
    execArgv: ['-r', join(__dirname, '../../../../test/support/swc-register.js')],
    env: { ...process.env, FLUSHER_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const next = (type: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error(`flusher exited before "${type}"`)));
    });
  await next('ready');
  return {
    child,
    next,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'exit' });
      await exited;
    },
  };
}

@Injectable()
class Counters {
  @WriteBehind({ key: (name: string) => ['row', name], flush: 'rows' })
  async set(_name: string, value: number) {
    return value;
  }
}

describe('write-behind: a flusher killed mid-batch', () => {
  const redis = rawRedis();
  const pool = new Pool({ connectionString: PG_URL, max: 2 });
  let producer: CacheApp;
  const flushers: Flusher[] = [];

  beforeAll(async () => {
    await createRowsTable(pool, schema);
    producer = await createCacheApp({
      cache: {
        redis: redisUrl(),
        namespace,
        // This process only produces; its handler serves write-through fallbacks (none expected here).
        writeBehind: { flusher: false, handlers: { rows: (writes) => applyRows(pool, schema, writes) } },
      },
      providers: [Counters],
    });
  });

  afterAll(async () => {
    for (const flusher of flushers) await flusher.kill().catch(() => undefined);
    await producer?.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
    await cleanNamespace(redis, namespace);
    await redis.del(queue.stream, queue.pending, queue.leader);
    await redis.quit();
  });

  it('applies every write exactly once in effect: the table ends equal to the last write of each key', async () => {
    const counters = producer.get(Counters);
    const names = Array.from({ length: 10 }, (_, index) => `k${index}`);
    const keys = names.map((name) => `row:${name}`);
    const rounds = 12;
    // Writes to one key are made in order; keys are written concurrently.
    const writing = Promise.all(
      names.map(async (name) => {
        for (let value = 1; value <= rounds; value++) {
          await counters.set(name, value);
          await sleep(5);
        }
      }),
    );

    const first = await startFlusher({ holdBeforeCommitMs: 10_000, holdAfterCommitMs: 0 });
    flushers.push(first);
    await first.next('flushing');
    await first.kill(); // inside the transaction: Postgres rolls it back, the batch stays pending in Redis
    await writing;

    const second = await startFlusher({ holdBeforeCommitMs: 0, holdAfterCommitMs: 10_000 });
    flushers.push(second);
    await second.next('committed'); // reclaimed the dead flusher's batch once idle, committed it...
    await second.kill(); // ...and dies before acknowledging it: it will be delivered again

    const third = await startFlusher({ holdBeforeCommitMs: 0, holdAfterCommitMs: 0 });
    flushers.push(third);
    const deadline = Date.now() + 20_000;
    while ((await redis.xlen(queue.stream)) > 0 || (await redis.hlen(queue.pending)) > 0) {
      if (Date.now() > deadline) throw new Error(`queue not drained: ${await redis.xlen(queue.stream)} entries left`);
      await sleep(50);
    }
    await third.stop();

    const rows = await readRows(pool, schema);
    expect([...rows.keys()].sort()).toEqual([...keys].sort());
    for (const key of keys) expect(rows.get(key)!.value).toBe(rounds);
    const pending = (await redis.xpending(queue.stream, 'flushers')) as [number];
    expect(Number(pending[0])).toBe(0);
  }, 60_000);
});
