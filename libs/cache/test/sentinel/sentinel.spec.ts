import { Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { Cacheable, type CacheModuleOptions, type CachePolicyOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { sleep, uniqueNamespace } from '../support/redis';
import { startRedisSentinel, type TestRedisSentinel } from '../support/redis-sentinel';

/**
 * Redis Sentinel: the module connects through a Sentinel (master + replica + sentinel on loopback, started here)
 * from its plain options, caches on the master, and the bus works between two instances.
 */
@Injectable()
class Profiles {
  loads = 0;
  @Cacheable({ key: 'profile:{0}', policy: 'profile' })
  async find(id: string) {
    this.loads++;
    return { id, loads: this.loads };
  }
}

describe('Redis Sentinel (master + replica + sentinel)', () => {
  const namespace = uniqueNamespace('sentinel');
  const policies: Record<string, CachePolicyOptions> = { profile: { ttl: '1m', l1: true } };
  let sentinel: TestRedisSentinel;
  let master: Redis;
  let replica: Redis;
  let a: CacheApp;
  let b: CacheApp;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    master = new Redis({ host: '127.0.0.1', port: sentinel.masterPort });
    replica = new Redis({ host: '127.0.0.1', port: sentinel.replicaPort });
    const cache: CacheModuleOptions = { redis: { sentinels: sentinel.sentinels, name: sentinel.name }, namespace, policies };
    [a, b] = await Promise.all([createCacheApp({ cache, providers: [Profiles] }), createCacheApp({ cache, providers: [Profiles] })]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    master?.disconnect();
    replica?.disconnect();
    await sentinel?.stop();
  });

  it('caches through the Sentinel on the master (and the replica receives it)', async () => {
    const profiles = a.get(Profiles);
    await expect(profiles.find('p1')).resolves.toEqual({ id: 'p1', loads: 1 });
    await expect(profiles.find('p1')).resolves.toEqual({ id: 'p1', loads: 1 });
    expect(profiles.loads).toBe(1);
    expect(await master.exists(`${namespace}:profile:p1`)).toBe(1);
    await waitFor(async () => (await replica.exists(`${namespace}:profile:p1`)) === 1);
    await a.cache.clear();
    expect(await master.exists(`${namespace}:profile:p1`)).toBe(0);
  });

  it('the bus works through the Sentinel: a write in one instance drops the L1 copy of the other', async () => {
    await expect(b.cache.getOrSet('user:1', () => 'old', { policy: 'profile' })).resolves.toBe('old');
    await a.cache.set('user:1', 'new', { policy: 'profile' });
    await waitFor(async () => (await b.cache.getOrSet('user:1', () => 'reloaded', { policy: 'profile' })) === 'new');
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
