import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { CacheModule, WriteBehindHandler, type WriteBehindFlushHandler, type WriteBehindWrite } from '@app/cache';
import { applyRows } from './pg-rows';

/**
 * A process that only flushes: a Nest app whose write-behind handler writes `<schema>.rows` in Postgres. It reports
 * `{ type: 'flushing', keys }` inside the transaction (before COMMIT) and `{ type: 'committed' }` after it, and can
 * hold still at either point, so a test can SIGKILL it mid-batch or between COMMIT and the acknowledgement.
 */
export interface FlusherWorkerConfig {
  redisUrl: string;
  pgUrl: string;
  namespace: string;
  schema: string;
  /** Pause inside the transaction, before COMMIT. */
  holdBeforeCommitMs: number;
  /** Pause after COMMIT, before the handler returns (and the batch is acknowledged). */
  holdAfterCommitMs: number;
}

const config = JSON.parse(process.env.FLUSHER_WORKER!) as FlusherWorkerConfig;
const pool = new Pool({ connectionString: config.pgUrl, max: 2 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@WriteBehindHandler('rows')
@Injectable()
class PgRowsWriter implements WriteBehindFlushHandler {
  async flush(writes: ReadonlyArray<WriteBehindWrite>): Promise<void> {
    await applyRows(pool, config.schema, writes, async () => {
      process.send!({ type: 'flushing', keys: writes.map((write) => write.key) });
      await sleep(config.holdBeforeCommitMs);
    });
    process.send!({ type: 'committed', count: writes.length });
    await sleep(config.holdAfterCommitMs);
  }
}

@Module({
  imports: [
    CacheModule.forRoot({
      redis: config.redisUrl,
      namespace: config.namespace,
      writeBehind: { batchSize: 20, claimIdle: '500ms', block: '200ms', leaderTtl: '1s', retryDelay: '100ms' },
    }),
  ],
  providers: [PgRowsWriter],
})
class FlusherModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(FlusherModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  process.on('message', async (message: { type: string }) => {
    if (message.type !== 'exit') return;
    await app.close();
    await pool.end();
    process.exit(0);
  });
  process.send!({ type: 'ready' });
}

void main();
