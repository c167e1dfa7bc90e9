import Redis from 'ioredis';
import { CACHE_OPTIONS, CacheEngine, type CachePolicyOptions, type NormalizedCacheOptions, type ResolvedPolicy } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, sleep, uniqueNamespace } from '../support/redis';

/**
 * A caller that loses the lock race to another instance sleeps until the bus says the value landed: it answers
 * right after the holder's load, not after a poll interval or its lock wait, and it reads the store a bounded
 * number of times.
 */
const namespace = uniqueNamespace('stampede-bus');
const HOLDER_LOADER_MS = 300;
const policies: Record<string, CachePolicyOptions> = { locked: { ttl: '1m', lock: { ttl: '2s', wait: '5s' }, earlyRefreshBeta: 0 } };

describe('lock waiters are woken by the bus', () => {
  let holder: CacheApp;
  let waiter: CacheApp;
  let waiterClient: Redis;
  let waiterAddress: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = rawRedis();
    // The waiter's app runs on a connection of ours, so MONITOR can tell its commands apart by client address.
    waiterClient = new Redis(redisUrl(), { enableAutoPipelining: true, maxRetriesPerRequest: 0 });
    const info = String(await waiterClient.call('CLIENT', 'INFO'));
    waiterAddress = /\baddr=(\S+)/.exec(info)![1];
    [holder, waiter] = await Promise.all([
      createCacheApp({ cache: { redis: redisUrl(), namespace, policies } }),
      createCacheApp({ cache: { redis: waiterClient, namespace, policies } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([holder?.close(), waiter?.close()]);
    await waiterClient.quit();
    await cleanNamespace(redis, namespace);
    await redis.quit();
  });

  const engineOf = (app: CacheApp) => app.get(CacheEngine);
  const policyOf = (app: CacheApp): ResolvedPolicy => app.get<NormalizedCacheOptions>(CACHE_OPTIONS).policies.resolve('locked');

  it(`a waiter in another instance returns right after the holder's ${HOLDER_LOADER_MS} ms load, as a HIT, without loading`, async () => {
    const key = holder.cache.keyOf('slow');
    const monitorClient = new Redis(redisUrl());
    const monitor = await monitorClient.monitor();
    const waiterReads: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === waiterAddress && args[1] === key && /^get/i.test(args[0])) waiterReads.push(args);
    });

    let holderLoads = 0;
    let loaderStarted!: () => void;
    const holderLoading = new Promise<void>((resolve) => (loaderStarted = resolve));
    const holderCall = engineOf(holder).getOrLoad(key, policyOf(holder), async () => {
      holderLoads++;
      loaderStarted();
      await sleep(HOLDER_LOADER_MS);
      return { from: 'holder' };
    });
    await holderLoading;

    let waiterLoads = 0;
    const started = performance.now();
    const waited = await engineOf(waiter).getOrLoad(key, policyOf(waiter), async () => {
      waiterLoads++;
      return { from: 'waiter' };
    });
    const waitedMs = performance.now() - started;
    await expect(holderCall).resolves.toEqual({ value: { from: 'holder' }, status: 'MISS' });
    await sleep(50); // let MONITOR catch up
    monitor.disconnect();
    monitorClient.disconnect();

    expect(waited).toEqual({ value: { from: 'holder' }, status: 'HIT' });
    expect(waiterLoads).toBe(0);
    expect(holderLoads).toBe(1);
    console.log(`bus wake-up: waiter answered after ${waitedMs.toFixed(0)} ms with ${waiterReads.length} reads of the key`);
    // Woken when the value lands (at most ~300 ms after the waiter started), far below the 2 s lease and 5 s wait.
    expect(waitedMs).toBeLessThan(HOLDER_LOADER_MS + 150);
    // The first read (a miss), one re-check after registering to be woken, one read after the wake-up. Polling
    // every 50 ms would have read the key about six times while the holder loaded.
    expect(waiterReads.length).toBeGreaterThanOrEqual(2);
    expect(waiterReads.length).toBeLessThanOrEqual(3);
  });
});
