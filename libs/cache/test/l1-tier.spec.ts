import type { CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, sleep, uniqueNamespace } from './support/redis';

/**
 * The in-process L1 tier: fresh entries are served without Redis, and a write anywhere drops every instance's copy
 * through the bus; after the bus reconnects (messages may have been lost) L1 is emptied.
 */
describe('L1 tier and invalidation bus', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('l1');
  const options: CacheModuleOptions = { redis: redisUrl(), namespace, policies: { profile: { ttl: '1m', l1: true } } };
  let a: CacheApp;
  let b: CacheApp;

  beforeAll(async () => {
    a = await createCacheApp({ cache: options });
    b = await createCacheApp({ cache: options });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  it('serves a fresh entry from L1 without Redis, as a copy per caller', async () => {
    let loads = 0;
    const load = () => ({ name: `v${++loads}` });
    const first = await a.cache.getOrSet<{ name: string }>('user:1', load, { policy: 'profile' });
    await redis.del(`${namespace}:user:1`); // only L1 can answer now
    const second = await a.cache.getOrSet<{ name: string }>('user:1', load, { policy: 'profile' });
    const third = await a.cache.getOrSet<{ name: string }>('user:1', load, { policy: 'profile' });
    expect(loads).toBe(1);
    expect(second).toEqual(first);
    expect(second).not.toBe(third);
    second.name = 'mutated';
    expect((await a.cache.getOrSet<{ name: string }>('user:1', load, { policy: 'profile' })).name).toBe('v1');
  });

  it('drops the copy in every instance when another instance writes or deletes', async () => {
    await a.cache.getOrSet('user:2', () => 'old', { policy: 'profile' });
    expect(await a.cache.get('user:2', { policy: 'profile' })).toBe('old');
    await b.cache.set('user:2', 'new', { policy: 'profile' });
    await waitFor(async () => (await a.cache.getOrSet('user:2', () => 'loaded', { policy: 'profile' })) === 'new');
    await b.cache.delete('user:2');
    await waitFor(async () => (await a.cache.getOrSet('user:2', () => 'reloaded', { policy: 'profile' })) === 'reloaded');
  });

  it('empties L1 after the bus connection drops and comes back', async () => {
    await a.cache.getOrSet('user:3', () => 'cached', { policy: 'profile' });
    // A write whose invalidation this instance cannot hear: straight into Redis, then the subscriber is killed.
    await redis.del(`${namespace}:user:3`);
    await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor(async () => (await a.cache.getOrSet('user:3', () => 'after-reconnect', { policy: 'profile' })) === 'after-reconnect');
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
