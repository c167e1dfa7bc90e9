import type Redis from 'ioredis';
import { CacheService } from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from './support/cache-app';
import { readEnvelope, scanKeys, sleep, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('service');

describe('CacheService', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let cache: CacheService;
  const key = (relative: string) => `${namespace}:${relative}`;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: {
        defaultPolicy: { ttl: '5m', jitter: 0 },
        policies: { short: { ttl: '300ms', jitter: 0 }, settings: { ttl: '1h', jitter: 0 } },
      },
    }));
    cache = fixture.cache;
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it('set then get round-trips a value under the namespace; get of a missing key is undefined', async () => {
    await expect(cache.get('missing')).resolves.toBeUndefined();
    await expect(cache.set(['org', 'o1', 'settings'], { theme: 'dark', since: new Date(5) })).resolves.toBe(true);
    const value = await cache.get<{ theme: string; since: Date }>('org:o1:settings');
    expect(value).toEqual({ theme: 'dark', since: new Date(5) });
    expect(cache.keyOf(['org', 'o1', 'settings'])).toBe(key('org:o1:settings'));
    expect((await readEnvelope(redis, key('org:o1:settings')))?.v).toEqual({ theme: 'dark', since: { $date: new Date(5).toISOString() } });
  });

  it('set uses the policy TTL, or the ttl given for the call', async () => {
    await cache.set('ttl:policy', 1, { policy: 'settings' });
    await cache.set('ttl:override', 1, { policy: 'settings', ttl: '20s' });
    await cache.set('ttl:default', 1);
    expect(await redis.pttl(key('ttl:policy'))).toBeGreaterThan(3_590_000);
    expect(await redis.pttl(key('ttl:override'))).toBeLessThanOrEqual(20_000);
    expect(await redis.pttl(key('ttl:override'))).toBeGreaterThan(19_000);
    expect(await redis.pttl(key('ttl:default'))).toBeGreaterThan(290_000);
    expect(await redis.pttl(key('ttl:default'))).toBeLessThanOrEqual(300_000);
  });

  it('remainingTtl reports the time left, and undefined for a missing key', async () => {
    await cache.set('remaining', 'x', { ttl: '30s' });
    const remaining = await cache.remainingTtl('remaining');
    expect(remaining).toBeGreaterThan(29_000);
    expect(remaining).toBeLessThanOrEqual(30_000);
    await expect(cache.remainingTtl('remaining-missing')).resolves.toBeUndefined();
  });

  it('entries expire after their TTL', async () => {
    await cache.set('expiring', 'x', { policy: 'short' });
    await expect(cache.get('expiring', { policy: 'short' })).resolves.toBe('x');
    await sleep(350);
    await expect(cache.get('expiring', { policy: 'short' })).resolves.toBeUndefined();
  });

  it('getOrSet loads once, then serves from the cache', async () => {
    let loads = 0;
    const loader = async () => ({ n: ++loads });
    await expect(cache.getOrSet('lazy', loader)).resolves.toEqual({ n: 1 });
    await expect(cache.getOrSet('lazy', loader)).resolves.toEqual({ n: 1 });
    expect(loads).toBe(1);
  });

  it("getOrSet propagates the loader's error and caches nothing", async () => {
    await expect(cache.getOrSet('failing', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await redis.exists(key('failing'))).toBe(0);
    await expect(cache.getOrSet('failing', () => 'recovered')).resolves.toBe('recovered');
  });

  it('delete and deleteMany remove keys', async () => {
    await Promise.all(['d:1', 'd:2', 'd:3'].map((k) => cache.set(k, k)));
    await expect(cache.delete('d:1')).resolves.toBe(true);
    await expect(cache.deleteMany(['d:2', ['d', 3], 'd:never'])).resolves.toBe(true);
    expect(await redis.exists(key('d:1'), key('d:2'), key('d:3'))).toBe(0);
  });

  it('clear(key) deletes the group (the key and everything under key:), nothing else', async () => {
    await Promise.all(['group', 'group:a', 'group:a:b', 'groupie', 'other:1'].map((k) => cache.set(k, 1)));
    await expect(cache.clear('group')).resolves.toBe(2);
    expect(await redis.exists(key('group'), key('group:a'), key('group:a:b'))).toBe(0);
    expect(await redis.exists(key('groupie'), key('other:1'))).toBe(2);
  });

  it('clear() deletes the whole namespace and only it', async () => {
    const neighbour = `${namespace}-neighbour:kept`;
    await redis.set(neighbour, 'x', 'PX', 60_000);
    await cache.set('before-clear', 1);
    const count = await cache.clear();
    expect(count).toBeGreaterThan(0);
    expect(await scanKeys(redis, namespace)).toEqual([]);
    expect(await redis.get(neighbour)).toBe('x');
    await redis.del(neighbour);
  });

  it('single-flight: 200 concurrent getOrSet on a cold key run the 50 ms loader once; each caller gets its own copy', async () => {
    let loads = 0;
    const loader = async () => {
      loads++;
      await sleep(50);
      return { id: 'hot', tags: ['a'], at: new Date(7) };
    };
    const results = await Promise.all(Array.from({ length: 200 }, () => cache.getOrSet('hot', loader)));
    expect(loads).toBe(1);
    for (const result of results) expect(result).toEqual({ id: 'hot', tags: ['a'], at: new Date(7) });
    expect(new Set(results).size).toBe(200);
    expect(new Set(results.map((result) => result.tags)).size).toBe(200);
    results[0].tags.push('mutated');
    expect(results[1].tags).toEqual(['a']);
    expect(await redis.exists(key('hot'))).toBe(1);
  });
});
