import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Cacheable } from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from '../support/cache-app';
import { sleep, uniqueNamespace } from '../support/redis';

/** Stampede protection in one process: 1,000 concurrent misses of one key share a single loader call. */
const namespace = uniqueNamespace('stampede-1k');
const CALLERS = 1_000;
const LOADER_MS = 50;

@Injectable()
class Catalog {
  loads = 0;
  @Cacheable({ key: 'product:{0}', policy: 'products' })
  async product(id: string) {
    this.loads++;
    await sleep(LOADER_MS);
    return { id, tags: ['a', 'b'], loads: this.loads };
  }
}

describe('1,000 concurrent calls on a cold key', () => {
  let fixture: CacheApp;
  let redis: Redis;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      // Store timeouts well above this machine's worst event-loop stalls under 1,000 callers: this suite is about
      // single-flight, not about the fail-open path a timed-out fill would take.
      cache: { policies: { products: { ttl: '1m', earlyRefreshBeta: 0 } }, timeouts: { read: '2s', write: '2s' } },
      providers: [Catalog],
    }));
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it('CacheService.getOrSet: the loader runs once; every caller gets an equal value of its own', async () => {
    let loads = 0;
    const loader = async () => {
      loads++;
      await sleep(LOADER_MS);
      return { id: 'cold', nested: { list: [1, 2, 3] }, loads };
    };
    const values = await Promise.all(Array.from({ length: CALLERS }, () => fixture.cache.getOrSet('cold', loader)));

    expect(loads).toBe(1);
    for (const value of values) expect(value).toEqual({ id: 'cold', nested: { list: [1, 2, 3] }, loads: 1 });
    // No caller may mutate another caller's result: every value and every nested object is a separate copy.
    expect(new Set(values).size).toBe(CALLERS);
    expect(new Set(values.map((value) => value.nested)).size).toBe(CALLERS);
    expect(new Set(values.map((value) => value.nested.list)).size).toBe(CALLERS);
  });

  it('@Cacheable method: the method body runs once for 1,000 concurrent calls', async () => {
    const catalog = fixture.get(Catalog);
    const values = await Promise.all(Array.from({ length: CALLERS }, () => catalog.product('p1')));

    expect(catalog.loads).toBe(1);
    for (const value of values) expect(value).toEqual({ id: 'p1', tags: ['a', 'b'], loads: 1 });
    expect(new Set(values).size).toBe(CALLERS);
    expect(new Set(values.map((value) => value.tags)).size).toBe(CALLERS);
    // And the value is cached: a later call is a hit.
    await expect(catalog.product('p1')).resolves.toEqual({ id: 'p1', tags: ['a', 'b'], loads: 1 });
    expect(catalog.loads).toBe(1);
  });

  it('a burst of hits on a cached key shares one read; every caller gets an equal value of its own, Dates included', async () => {
    const value = { id: 'warm', tags: ['a'], at: new Date(7), nested: { list: [1, 2] } };
    await fixture.cache.set('warm', value);
    const loader = async (): Promise<typeof value> => {
      throw new Error('a hit must not load');
    };
    // Each caller changes its value as soon as it has it: were any object shared, another caller would see it.
    const values = await Promise.all(
      Array.from({ length: CALLERS }, (_, caller) =>
        fixture.cache.getOrSet('warm', loader).then((got) => {
          got.tags.push(`caller ${caller}`);
          got.nested.list.push(caller);
          got.at.setTime(caller);
          return got;
        }),
      ),
    );
    values.forEach((got, caller) => expect(got).toEqual({ id: 'warm', tags: ['a', `caller ${caller}`], at: new Date(caller), nested: { list: [1, 2, caller] } }));
    await expect(fixture.cache.getOrSet('warm', loader)).resolves.toEqual(value);
  });
});
