import { MemoryStore } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { ChaosStore } from './support/chaos-store';
import { sleep } from './support/redis';

/**
 * A delete that fails (store down or slow) must not leave the old value to be served: this process reads the key as a
 * miss until the delete is repaired, and the repair is retried until the store takes it.
 */
describe('repairs of changes that did not reach the store', () => {
  let app: CacheApp;
  let inner: MemoryStore;
  let chaos: ChaosStore;

  beforeEach(async () => {
    inner = new MemoryStore();
    chaos = new ChaosStore(inner);
    app = await createCacheApp({ cache: { store: chaos, namespace: 'repair', defaultPolicy: { ttl: '10m' } } });
  });
  afterEach(async () => {
    await app.close();
  });

  it('a failed eviction makes the key a miss here and is retried until the old value is gone', async () => {
    await app.cache.getOrSet('credential:1', () => 'valid');
    chaos.fail('delete');
    expect(await app.cache.delete('credential:1')).toBe(false);
    expect(await inner.get('repair:credential:1')).toBeDefined(); // the old value is still in the store
    expect(await app.cache.getOrSet('credential:1', () => 'revoked')).toBe('revoked'); // ... but never served
    chaos.heal(); // also resets the call counts
    await sleep(700); // one retry period
    expect(chaos.count('delete')).toBe(1); // the repair
    expect(await inner.get('repair:credential:1')).toBeUndefined();
    expect(await app.cache.getOrSet('credential:1', () => 'reloaded')).toBe('reloaded');
    expect(await app.cache.getOrSet('credential:1', () => 'not again')).toBe('reloaded');
  });

  it('a failed tag invalidation makes entries with that tag misses until it is repaired', async () => {
    await app.cache.getOrSet('org:1', () => 'old', { tags: ['org'] });
    chaos.fail('increment');
    expect(await app.cache.invalidate({ tags: ['org'] })).toBe(false);
    expect(await app.cache.getOrSet('org:1', () => 'new', { tags: ['org'] })).toBe('new');
    chaos.heal();
    await sleep(700);
    expect(await app.cache.getOrSet('org:1', () => 'newer', { tags: ['org'] })).toBe('newer');
    expect(await app.cache.getOrSet('org:1', () => 'not again', { tags: ['org'] })).toBe('newer');
  });
});
