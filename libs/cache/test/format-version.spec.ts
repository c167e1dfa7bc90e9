import type { CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, readEnvelope, redisUrl, uniqueNamespace } from './support/redis';

/** A deploy that changes a value's shape bumps formatVersion: old shapes are never read, and keys stay shared. */
describe('formatVersion', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('format');
  const options = (formatVersion?: number): CacheModuleOptions => ({ redis: redisUrl(), namespace, formatVersion, defaultPolicy: { ttl: '10m' } });
  let before: CacheApp;
  let after: CacheApp;

  beforeAll(async () => {
    before = await createCacheApp({ cache: options() });
    after = await createCacheApp({ cache: options(2) });
  });
  afterAll(async () => {
    await Promise.all([before?.close(), after?.close()]);
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  it('never reads an entry of another format version; the new shape replaces it under the same key', async () => {
    expect(await before.cache.getOrSet('profile:1', () => ({ name: 'Ada Lovelace' }))).toEqual({ name: 'Ada Lovelace' });
    const newShape = { first: 'Ada', last: 'Lovelace' };
    expect(await after.cache.getOrSet('profile:1', () => newShape)).toEqual(newShape);
    expect(await after.cache.getOrSet('profile:1', () => ({ first: 'reloaded', last: '' }))).toEqual(newShape);
    const stored = await redis.get(`${namespace}:profile:1`);
    expect(JSON.parse(stored!)).toMatchObject({ v: newShape, x: '2' });
    // The old deploy does not read the new shape either.
    expect(await before.cache.getOrSet('profile:1', () => ({ name: 'old shape again' }))).toEqual({ name: 'old shape again' });
  });

  it('a delete from either deploy reaches the shared key', async () => {
    await after.cache.getOrSet('credential:9', () => ({ status: 'valid' }));
    await before.cache.delete('credential:9');
    expect(await readEnvelope(redis, `${namespace}:credential:9`)).toBeUndefined();
  });
});
