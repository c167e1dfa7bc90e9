import { findOrStartRedis, type TestRedis } from './redis-server';

declare global {
  // eslint-disable-next-line no-var
  var __TEST_REDIS__: TestRedis | undefined;
}

/** Finds (or starts) one Redis for the whole run and hands its URL to every test file through REDIS_URL. */
export default async function globalSetup(): Promise<void> {
  if (globalThis.__TEST_REDIS__) return; // several projects share one run: find Redis once
  const redis = await findOrStartRedis();
  globalThis.__TEST_REDIS__ = redis;
  process.env.REDIS_URL = redis.url;
  process.env.TEST_REDIS_SOURCE = redis.source;
}
