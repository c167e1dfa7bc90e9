import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { CacheThrottlerStorage } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { captureLogs, type LogCapture } from '../support/log-capture';
import { RedisProcess } from '../support/redis-process';
import { cleanNamespace, rawRedis, redisUrl, scanKeys, sleep, uniqueNamespace } from '../support/redis';
import type { ThrottleWorkerConfig } from '../support/throttle-worker';

/**
 * CacheThrottlerStorage against real Redis (and on the in-process store): the window is exact at its edges, blocks
 * last blockDuration, concurrent hits from several processes never get more than `limit` through, keys live under
 * the namespace in one Cluster slot, and a Redis outage lets requests through (or refuses them with failClosed),
 * logged once.
 */

const ROOT = join(__dirname, '..', '..', '..', '..');
/** Redis Cluster's key -> slot function (ioredis's own dependency; it ships no types). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const calculateSlot: (key: string) => number = require('cluster-key-slot');

describe.each([
  ['Redis', true],
  ['the in-process store', false],
] as const)('CacheThrottlerStorage on %s', (_label, withRedis) => {
  const namespace = uniqueNamespace('throttle');
  let fixture: CacheApp;
  let storage: CacheThrottlerStorage;
  let redis: Redis;
  let client = 0;
  const nextClient = () => `10.0.0.${++client}`;

  beforeAll(async () => {
    redis = rawRedis();
    fixture = await createCacheApp({ cache: { ...(withRedis ? { redis: redisUrl() } : {}), namespace } });
    storage = fixture.get(CacheThrottlerStorage);
  });
  afterAll(async () => {
    await fixture?.close();
    await cleanNamespace(redis, namespace);
    await redis.quit();
  });

  it(`keeps its state ${withRedis ? 'on Redis' : 'in-process'}`, () => {
    expect(storage.storeName).toBe(withRedis ? 'redis' : 'memory');
  });

  it('limit 3 per 500 ms: the 4th hit in the window is refused, one is allowed just after the oldest leaves it', async () => {
    const key = nextClient();
    const hit = () => storage.increment(key, 500, 3, 0, 'default');
    const before = performance.now();
    expect(await hit()).toMatchObject({ isBlocked: false, totalHits: 1 });
    const oldestAfter = performance.now(); // the oldest hit happened in [before, oldestAfter]
    await sleep(200);
    expect(await hit()).toMatchObject({ isBlocked: false, totalHits: 2 });
    await sleep(50);
    expect(await hit()).toMatchObject({ isBlocked: false, totalHits: 3 });
    expect(await hit()).toMatchObject({ isBlocked: true, totalHits: 4, timeToBlockExpire: 1 });

    await sleep(before + 450 - performance.now());
    expect(performance.now()).toBeLessThan(before + 500); // still inside the oldest hit's window
    expect(await hit()).toMatchObject({ isBlocked: true });

    await sleep(oldestAfter + 510 - performance.now());
    expect(await hit()).toMatchObject({ isBlocked: false, totalHits: 3 }); // the oldest left, its slot is free
    expect(await hit()).toMatchObject({ isBlocked: true }); // and only that one slot: the other two are ~200 ms younger
  });

  it('a refusal with blockDuration blocks for that long even after the window empties; blocked hits are not counted', async () => {
    const key = nextClient();
    const hit = () => storage.increment(key, 200, 2, 800, 'default');
    await hit();
    await hit();
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    await sleep(400); // the window (200 ms) is empty, the block (800 ms) is not over
    expect(await hit()).toMatchObject({ isBlocked: true });
    await sleep(500);
    expect(await hit()).toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('counts each throttler name and each client on its own', async () => {
    const key = nextClient();
    expect(await storage.increment(key, 10_000, 1, 0, 'short')).toMatchObject({ isBlocked: false });
    expect(await storage.increment(key, 10_000, 1, 0, 'short')).toMatchObject({ isBlocked: true });
    expect(await storage.increment(key, 10_000, 1, 0, 'long')).toMatchObject({ isBlocked: false });
    expect(await storage.increment(nextClient(), 10_000, 1, 0, 'short')).toMatchObject({ isBlocked: false });
  });

  it('never lets more than the limit through under 200 concurrent hits', async () => {
    const key = nextClient();
    const records = await Promise.all(Array.from({ length: 200 }, () => storage.increment(key, 10_000, 37, 0, 'default')));
    expect(records.filter((record) => !record.isBlocked)).toHaveLength(37);
    expect(records.every((record) => record.timeToExpire > 0 && record.timeToExpire <= 10)).toBe(true);
  });

  if (!withRedis) return;

  it('keeps a sorted set under <namespace>:throttle:<name>:{<key>}, expiring with the window, in one Cluster slot with its block key', async () => {
    const key = 'client with spaces:and:colons';
    await storage.increment(key, 5_000, 1, 0, 'login');
    await storage.increment(key, 5_000, 1, 60_000, 'login'); // refused: sets the block
    const keys = (await scanKeys(redis, `${namespace}:throttle:login`)).filter((name) => name.includes('client'));
    expect(keys).toHaveLength(2);
    const [hits, block] = keys;
    expect(hits).toMatch(new RegExp(`^${namespace}:throttle:login:\\{client[a-z]*~[0-9a-f]{32}\\}$`));
    expect(block).toBe(`${hits}:block`);
    expect(calculateSlot(hits)).toBe(calculateSlot(block));
    expect(await redis.type(hits)).toBe('zset');
    expect(await redis.zcard(hits)).toBe(1);
    expect(await redis.pttl(hits)).toBeGreaterThan(4_000);
    expect(await redis.pttl(hits)).toBeLessThanOrEqual(5_000);
    expect(await redis.pttl(block)).toBeGreaterThan(59_000);
    expect(storage.keysOf('login', key)).toEqual({ hits, block });
  });
});

describe('CacheThrottlerStorage across processes', () => {
  const namespace = uniqueNamespace('throttle-procs');
  const workers: ChildProcess[] = [];
  let redis: Redis;

  beforeAll(() => {
    redis = rawRedis();
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
    await cleanNamespace(redis, namespace);
    await redis.quit();
  });

  async function startWorker(config: ThrottleWorkerConfig): Promise<ChildProcess> {
    const child = fork(join(__dirname, '..', 'support', 'throttle-worker.ts'), [], {
      execArgv: ['-r', join(ROOT, 'test', 'support', 'swc-register.js')],
      env: { ...process.env, THROTTLE_WORKER: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    workers.push(child);
    const [message] = await once(child, 'message');
    expect(message).toBe('ready');
    return child;
  }

  it('4 processes x 60 concurrent hits on one key with limit 50: exactly 50 allowed', async () => {
    const config: ThrottleWorkerConfig = { redisUrl: redisUrl(), namespace, key: '203.0.113.9', hits: 60, limit: 50, ttlMs: 30_000 };
    const children = await Promise.all(Array.from({ length: 4 }, () => startWorker(config)));
    const answers = children.map((child) => once(child, 'message').then(([message]) => (message as { allowed: number }).allowed));
    for (const child of children) child.send('go');
    const allowed = await Promise.all(answers);
    expect(allowed.reduce((sum, count) => sum + count, 0)).toBe(50);
    const [hits] = await scanKeys(redis, `${namespace}:throttle`);
    expect(await redis.zcard(hits)).toBe(50);
  }, 60_000);
});

describe('CacheThrottlerStorage during a Redis outage', () => {
  let server: RedisProcess;
  let logs: LogCapture;

  beforeAll(async () => {
    server = await RedisProcess.start();
  });
  beforeEach(() => {
    logs = captureLogs(['error', 'log']);
  });
  afterEach(() => logs.restore());
  afterAll(async () => {
    await server.stop();
  });

  const outageLines = () => logs.messages('error').filter((message) => message.includes('Redis unavailable for rate limiting'));

  async function withApp(throttler: { failClosed?: boolean } | undefined, run: (storage: CacheThrottlerStorage) => Promise<void>): Promise<void> {
    if (!server.running) await server.restart();
    const fixture = await createCacheApp({ cache: { redis: server.url, namespace: uniqueNamespace('throttle-outage'), ...(throttler ? { throttler } : {}) } });
    try {
      await run(fixture.get(CacheThrottlerStorage));
    } finally {
      await fixture.close();
    }
  }

  it('by default lets every request through (fail-open) and logs the outage once, and its end once', async () => {
    await withApp(undefined, async (storage) => {
      expect(await storage.increment('a', 60_000, 1, 0, 'default')).toMatchObject({ isBlocked: false });
      expect(await storage.increment('a', 60_000, 1, 0, 'default')).toMatchObject({ isBlocked: true });
      await server.kill();
      for (let i = 0; i < 20; i++) expect(await storage.increment('a', 60_000, 1, 0, 'default')).toMatchObject({ isBlocked: false });
      expect(outageLines()).toHaveLength(1);
      expect(outageLines()[0]).toContain('letting every request through (fail-open)');
      await server.restart();
      let answering = false;
      for (let i = 0; i < 60 && !answering; i++) {
        answering = (await storage.increment('b', 60_000, 1, 0, 'default')).totalHits > 0;
        if (!answering) await sleep(100);
      }
      expect(answering).toBe(true);
      expect(logs.messages('log').filter((message) => message.includes('rate limits enforced again'))).toHaveLength(1);
      expect(outageLines()).toHaveLength(1);
    });
  }, 30_000);

  it('with failClosed refuses every request while Redis is down, logged once', async () => {
    await withApp({ failClosed: true }, async (storage) => {
      expect(await storage.increment('a', 60_000, 5, 0, 'default')).toMatchObject({ isBlocked: false });
      await server.kill();
      for (let i = 0; i < 5; i++) {
        expect(await storage.increment('a', 60_000, 5, 0, 'default')).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
      }
      expect(outageLines()).toHaveLength(1);
      expect(outageLines()[0]).toContain('refusing every request (failClosed)');
    });
  }, 30_000);

  it('gives up on a frozen Redis after the ~100 ms command timeout', async () => {
    await withApp(undefined, async (storage) => {
      await storage.increment('a', 60_000, 5, 0, 'default');
      server.freeze();
      try {
        const started = performance.now();
        expect(await storage.increment('a', 60_000, 5, 0, 'default')).toMatchObject({ isBlocked: false, totalHits: 0 });
        const elapsed = performance.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(95);
        expect(elapsed).toBeLessThan(400);
        expect(outageLines()[0]).toContain('timed out after 100 ms');
      } finally {
        server.thaw();
      }
    });
  }, 30_000);
});
