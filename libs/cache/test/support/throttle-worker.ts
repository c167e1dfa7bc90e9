import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { CacheModule, CacheThrottlerStorage } from '@app/cache';

/**
 * A separate process with its own app and CacheThrottlerStorage on the shared Redis, for the cross-process limiter
 * test. Config comes in THROTTLE_WORKER (JSON); it says 'ready', waits for 'go', fires `hits` concurrent increments
 * of one key, answers with how many were allowed, and exits.
 */
export interface ThrottleWorkerConfig {
  redisUrl: string;
  namespace: string;
  key: string;
  hits: number;
  limit: number;
  ttlMs: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.THROTTLE_WORKER ?? '{}') as ThrottleWorkerConfig;
  const app = await NestFactory.createApplicationContext(CacheModule.forRoot({ redis: config.redisUrl, namespace: config.namespace }), { logger: false });
  const storage = app.get(CacheThrottlerStorage);
  process.once('message', async () => {
    const records = await Promise.all(Array.from({ length: config.hits }, () => storage.increment(config.key, config.ttlMs, config.limit, 0, 'default')));
    process.send!({ allowed: records.filter((record) => !record.isBlocked).length }, () => {
      void app.close().then(() => process.exit(0));
    });
  });
  process.send!('ready');
}

void main();
