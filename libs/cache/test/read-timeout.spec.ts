import { MemoryStore } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { ChaosStore } from './support/chaos-store';

/** A policy's readTimeout overrides the module's: a slow store read is waited for, or given up on, per policy. */
describe('per-policy read timeout', () => {
  let app: CacheApp;
  let chaos: ChaosStore;

  beforeAll(async () => {
    chaos = new ChaosStore(new MemoryStore());
    app = await createCacheApp({
      cache: {
        store: chaos,
        namespace: 'read-timeout',
        timeouts: { read: '50ms' },
        circuitBreaker: { failureThreshold: 1_000 },
        // Lock off for the hasty policy: its fill then takes a lease without reading the entry, so what is measured
        // is the read timeout alone (a locked fill's lock script would find the entry and answer with it).
        policies: { patient: { ttl: '1m', readTimeout: '500ms' }, hasty: { ttl: '1m', lock: false } },
      },
    });
  });
  afterAll(() => app?.close());

  it('waits for a 150 ms read under a 500 ms policy timeout, and falls through to the loader under the 50 ms module one', async () => {
    await app.cache.getOrSet('a', () => 'cached', { policy: 'patient' });
    await app.cache.getOrSet('b', () => 'cached', { policy: 'hasty' });
    chaos.delay('get', 150);
    expect(await app.cache.getOrSet('a', () => 'from loader', { policy: 'patient' })).toBe('cached');
    const started = performance.now();
    expect(await app.cache.getOrSet('b', () => 'from loader', { policy: 'hasty' })).toBe('from loader');
    expect(performance.now() - started).toBeLessThan(150);
    chaos.heal();
  });
});
