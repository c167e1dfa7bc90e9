import type { CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, sleep, uniqueNamespace } from './support/redis';

/**
 * Fail-safe reuse of a grace value (the loader is failing) ends as soon as the key is deleted anywhere: another
 * instance's eviction reaches this one over the bus, and the old value is not served for the rest of the back-off.
 */
describe('fail-safe reuse vs a remote eviction', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('fail-safe-remote');
  const options: CacheModuleOptions = {
    redis: redisUrl(),
    namespace,
    policies: { graceful: { ttl: '100ms', jitter: 0, grace: '1m', failSafeBackoff: '1m', earlyRefreshBeta: 0 } },
  };
  let a: CacheApp;
  let b: CacheApp;

  beforeAll(async () => {
    [a, b] = await Promise.all([createCacheApp({ cache: options }), createCacheApp({ cache: options })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  it('stops serving the grace value once another instance evicts the key', async () => {
    await a.cache.getOrSet('credential:1', () => 'valid', { policy: 'graceful' });
    await sleep(150); // past freshness, within grace
    const failing = () => Promise.reject(new Error('database down'));
    expect(await a.cache.getOrSet('credential:1', failing, { policy: 'graceful' })).toBe('valid'); // fail-safe
    expect(await a.cache.getOrSet('credential:1', failing, { policy: 'graceful' })).toBe('valid'); // back-off reuse
    await b.cache.delete('credential:1'); // revoked elsewhere
    const deadline = Date.now() + 2_000;
    let answer: unknown = 'valid';
    while (answer === 'valid' && Date.now() < deadline) {
      answer = await a.cache.getOrSet('credential:1', () => 'revoked', { policy: 'graceful' });
      if (answer === 'valid') await sleep(10);
    }
    expect(answer).toBe('revoked');
  });
});
