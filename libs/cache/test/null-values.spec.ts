import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Cacheable } from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from './support/cache-app';
import { readEnvelope, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('null-values');

@Injectable()
class Lookups {
  readonly calls: Record<string, number> = {};
  private count(name: string) {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  @Cacheable({ key: 'negative:null:{0}', policy: 'negative' })
  async nullWithNegativeTtl(_id: string) {
    this.count('nullWithNegativeTtl');
    return null;
  }

  @Cacheable({ key: 'negative:undefined:{0}', policy: 'negative' })
  async undefinedWithNegativeTtl(_id: string) {
    this.count('undefinedWithNegativeTtl');
    return undefined;
  }

  @Cacheable({ key: 'plain:null:{0}', policy: 'plain' })
  async nullWithoutNegativeTtl(_id: string) {
    this.count('nullWithoutNegativeTtl');
    return null;
  }

  @Cacheable({ key: 'plain:undefined:{0}', policy: 'plain' })
  async undefinedWithoutNegativeTtl(_id: string) {
    this.count('undefinedWithoutNegativeTtl');
    return undefined;
  }

  @Cacheable({ key: 'negative:falsy:{0}', policy: 'plain' })
  async falsy(kind: string) {
    this.count(`falsy:${kind}`);
    return ({ zero: 0, false: false, empty: '' } as Record<string, unknown>)[kind];
  }
}

describe('null and undefined results', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let lookups: Lookups;
  const key = (relative: string) => `${namespace}:${relative}`;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: {
        policies: {
          negative: { ttl: '10m', negativeTtl: '30s', jitter: 0.1 },
          plain: { ttl: '10m' },
        },
      },
      providers: [Lookups],
    }));
    lookups = fixture.get(Lookups);
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it('caches null under the negative TTL (within its jitter band), not the main TTL', async () => {
    for (let i = 0; i < 3; i++) await expect(lookups.nullWithNegativeTtl('n1')).resolves.toBeNull();
    expect(lookups.calls.nullWithNegativeTtl).toBe(1);
    expect((await readEnvelope(redis, key('negative:null:n1')))?.v).toBeNull();
    const ids = Array.from({ length: 40 }, (_, i) => `band${i}`);
    await Promise.all(ids.map((id) => lookups.nullWithNegativeTtl(id)));
    const ttls = await Promise.all(ids.map((id) => redis.pttl(key(`negative:null:${id}`))));
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThanOrEqual(26_500);
      expect(ttl).toBeLessThanOrEqual(33_000);
    }
    expect(new Set(ttls).size).toBeGreaterThan(1);
  });

  it('does not cache null when the policy has no negative TTL', async () => {
    for (let i = 0; i < 3; i++) await expect(lookups.nullWithoutNegativeTtl('n2')).resolves.toBeNull();
    expect(lookups.calls.nullWithoutNegativeTtl).toBe(3);
    expect(await redis.exists(key('plain:null:n2'))).toBe(0);
  });

  it('never caches undefined, with or without a negative TTL', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(lookups.undefinedWithNegativeTtl('u1')).resolves.toBeUndefined();
      await expect(lookups.undefinedWithoutNegativeTtl('u1')).resolves.toBeUndefined();
    }
    expect(lookups.calls.undefinedWithNegativeTtl).toBe(3);
    expect(lookups.calls.undefinedWithoutNegativeTtl).toBe(3);
    expect(await redis.exists(key('negative:undefined:u1'), key('plain:undefined:u1'))).toBe(0);
  });

  it('caches other falsy values (0, false, empty string) like any value', async () => {
    for (const kind of ['zero', 'false', 'empty']) {
      const first = await lookups.falsy(kind);
      const second = await lookups.falsy(kind);
      expect(second).toBe(first);
      expect(lookups.calls[`falsy:${kind}`]).toBe(1);
    }
  });

  it('CacheService.set refuses undefined, and null unless the policy has a negative TTL', async () => {
    const cache = fixture.cache;
    await expect(cache.set('svc:undefined', undefined, { policy: 'negative' })).resolves.toBe(false);
    await expect(cache.set('svc:null-plain', null, { policy: 'plain' })).resolves.toBe(false);
    await expect(cache.set('svc:null-negative', null, { policy: 'negative' })).resolves.toBe(true);
    expect(await redis.exists(key('svc:undefined'), key('svc:null-plain'))).toBe(0);
    const ttl = await redis.pttl(key('svc:null-negative'));
    expect(ttl).toBeGreaterThan(26_500);
    expect(ttl).toBeLessThanOrEqual(33_000);
    await expect(cache.get('svc:null-negative', { policy: 'negative' })).resolves.toBeNull();
  });
});
