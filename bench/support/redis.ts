import Redis from 'ioredis';
import { spawnRedisServer, waitForPing } from '../../test/support/redis-server';

/** The Redis a benchmark runs against, and how to stop it if the benchmark started it. */
export interface BenchRedis {
  readonly url: string;
  readonly source: 'REDIS_URL' | 'localhost:6379' | 'redis-server';
  stop(): Promise<void>;
}

const LOCAL_URL = 'redis://127.0.0.1:6379';

/**
 * Finds a Redis for a benchmark, in this order: REDIS_URL; 127.0.0.1:6379 when it answers PING; else a
 * `redis-server` spawned on a free loopback port with persistence off (stopped by `stop()`).
 */
export async function findBenchRedis(): Promise<BenchRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, source: 'REDIS_URL', stop: async () => undefined };
  const local = await waitForPing(LOCAL_URL, 300).then(
    () => true,
    () => false,
  );
  if (local) return { url: LOCAL_URL, source: 'localhost:6379', stop: async () => undefined };
  const spawned = await spawnRedisServer();
  return { url: spawned.url, source: 'redis-server', stop: () => spawned.stop() };
}

/** Deletes every key matching a glob (SCAN + UNLINK); resolves to the number deleted. */
export async function deleteMatching(url: string, pattern: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** `redis_version` of the server at `url`, for the report. */
export async function redisVersion(url: string): Promise<string> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
}

/** CPU time (user + system, ms) the server at `url` has used since it started, from INFO cpu. */
export async function redisCpuMs(url: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await client.info('cpu');
    const seconds = (field: string) => Number(new RegExp(`${field}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
    return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1_000;
  } finally {
    client.disconnect();
  }
}
