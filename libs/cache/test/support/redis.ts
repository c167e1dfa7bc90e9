import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

/**
 * Raw Redis access for integration tests: a plain ioredis client to inspect what the library wrote (GET, PTTL,
 * SCAN), and per-file namespaces so test files never see each other's keys.
 */

/** The Redis that global setup found or started. */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the integration tests through jest (global setup provides it)');
  return url;
}

/** A plain client for inspecting keys; close it with `quit()` in afterAll. */
export function rawRedis(url = redisUrl()): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** A namespace no other test file or run uses, e.g. `it-cacheable-3f9a1c`. */
export function uniqueNamespace(label: string): string {
  return `it-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Every key under `namespace:` (SCAN, never KEYS), sorted. */
export async function scanKeys(redis: Redis, namespace: string): Promise<string[]> {
  const keys: string[] = [];
  const match = `${namespace}:*`;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

/** Deletes every key under `namespace:`; resolves to the count. */
export async function cleanNamespace(redis: Redis, namespace: string): Promise<number> {
  const keys = await scanKeys(redis, namespace);
  let deleted = 0;
  for (let i = 0; i < keys.length; i += 1000) deleted += await redis.unlink(...keys.slice(i, i + 1000));
  return deleted;
}

/** Parses the JSON envelope `{"v":..,"f":..,"l":..}` stored under `key`, or undefined when the key is absent. */
export async function readEnvelope(redis: Redis, key: string): Promise<{ v: unknown; f: number; l: number } | undefined> {
  const raw = await redis.get(key);
  return raw === null ? undefined : JSON.parse(raw);
}

/**
 * Records every command the Redis at `url` receives (MONITOR) whose arguments mention `needle`, until `stop()`.
 * MONITOR sees commands from every client, so this proves what the library did (and did not) send.
 */
export async function monitorCommands(url: string, needle: string): Promise<{ commands: string[][]; stop(): Promise<void> }> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const monitor = await client.monitor();
  const commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((arg) => String(arg).includes(needle))) commands.push(args.map(String));
  });
  return {
    commands,
    stop: async () => {
      // Commands sent just before stop() may still be on their way to the monitor connection.
      await new Promise((resolve) => setTimeout(resolve, 50));
      monitor.disconnect();
      client.disconnect();
    },
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
