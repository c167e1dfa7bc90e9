import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Cacheable, CacheEvict, RedisStore, WriteThrough } from '@app/cache';
import { freePort } from '../../../test/support/redis-server';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { ChaosStore } from './support/chaos-store';
import { cleanNamespace, rawRedis, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('outage');

@Injectable()
class Prices {
  loads = 0;
  @Cacheable({ key: 'price:{0}' })
  async price(sku: string) {
    this.loads++;
    return { sku, cents: 100 + this.loads };
  }

  @WriteThrough({ key: 'price:{0}' })
  async setPrice(sku: string, cents: number) {
    return { sku, cents };
  }

  @CacheEvict({ key: 'price:{0}' })
  async forget(sku: string) {
    return sku;
  }
}

/** Runs `call` and asserts it settled in under `limitMs`. */
async function quickly<T>(call: () => Promise<T>, limitMs = 1_000): Promise<T> {
  const started = performance.now();
  const result = await call();
  expect(performance.now() - started).toBeLessThan(limitMs);
  return result;
}

describe('Redis outage: nothing listens on the configured port', () => {
  let fixture: CacheApp;
  let prices: Prices;

  beforeAll(async () => {
    const port = await freePort();
    // Start-up waits briefly for Redis, then starts anyway.
    fixture = await createCacheApp({ cache: { redis: `redis://127.0.0.1:${port}`, namespace }, providers: [Prices] });
    prices = fixture.get(Prices);
  }, 15_000);
  afterAll(async () => {
    await fixture?.close();
  });

  it('decorated methods return loader results quickly, every call, without throwing', async () => {
    for (let i = 1; i <= 5; i++) {
      await expect(quickly(() => prices.price('p1'))).resolves.toEqual({ sku: 'p1', cents: 100 + i });
    }
    expect(prices.loads).toBe(5);
    await expect(quickly(() => prices.setPrice('p1', 7))).resolves.toEqual({ sku: 'p1', cents: 7 });
    await expect(quickly(() => prices.forget('p1'))).resolves.toBe('p1');
  });

  it('CacheService calls answer quickly with their "not done" values', async () => {
    const cache = fixture.cache;
    await expect(quickly(() => cache.getOrSet('k', () => 'loaded'))).resolves.toBe('loaded');
    await expect(quickly(() => cache.get('k'))).resolves.toBeUndefined();
    await expect(quickly(() => cache.set('k', 1))).resolves.toBe(false);
    await expect(quickly(() => cache.delete('k'))).resolves.toBe(false);
    await expect(quickly(() => cache.clear())).resolves.toBe(-1);
    await expect(quickly(() => cache.remainingTtl('k'))).resolves.toBeUndefined();
  });

  it("the loader's own errors still propagate during an outage", async () => {
    await expect(fixture.cache.getOrSet('boom', async () => Promise.reject(new Error('loader failed')))).rejects.toThrow('loader failed');
  });
});

describe('store failures injected with ChaosStore', () => {
  let fixture: CacheApp;
  let chaos: ChaosStore;
  let storeClient: Redis;
  let prices: Prices;
  const chaosNamespace = `${namespace}-chaos`;

  beforeAll(async () => {
    storeClient = rawRedis();
    chaos = new ChaosStore(new RedisStore(storeClient));
    fixture = await createCacheApp({ cache: { store: chaos, namespace: chaosNamespace }, providers: [Prices] });
    prices = fixture.get(Prices);
  });
  afterEach(() => {
    chaos.heal();
  });
  afterAll(async () => {
    await fixture?.close();
    await cleanNamespace(storeClient, chaosNamespace);
    await storeClient.quit();
  });

  it('failing reads and writes fall back to the loader, then caching resumes when the store heals', async () => {
    // Every command that reads or writes an entry: plain reads and writes, and the lock script (which reads the entry
    // it would fill) and leased fills.
    chaos.fail(['get', 'set', 'acquireLock', 'setIfLeased']);
    await expect(prices.price('c1')).resolves.toMatchObject({ sku: 'c1' });
    await expect(prices.price('c1')).resolves.toMatchObject({ sku: 'c1' });
    expect(prices.loads).toBe(2);
    expect(chaos.count('get')).toBeGreaterThan(0);
    chaos.heal();
    // A breaker may keep the store closed for a while after an outage; wait until caching works again.
    const deadline = Date.now() + 5_000;
    let loadsBefore = prices.loads;
    for (;;) {
      await prices.price('c1');
      loadsBefore = prices.loads;
      await prices.price('c1');
      if (prices.loads === loadsBefore || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(prices.loads).toBe(loadsBefore);
  });

  it('a failing delete does not fail an evicting method', async () => {
    chaos.fail(['delete', 'deleteByPrefix']);
    await expect(prices.forget('c1')).resolves.toBe('c1');
  });
});
