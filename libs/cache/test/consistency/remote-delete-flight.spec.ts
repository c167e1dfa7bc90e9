import { CACHE_BUS, type CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, uniqueNamespace } from '../support/redis';

/**
 * A read that starts after another instance's delete was acknowledged must not join this instance's in-process load
 * (single-flight) that started before the delete: that load's value may predate the write. Found by the randomized
 * history check (history.spec.ts). The engine checks that a load's lease is still held before a caller joins it; the
 * delete revoked it, so the caller starts a load of its own. The interleaving is forced by holding back bus
 * deliveries to instance A, so the bus's own detaching cannot be what makes it pass.
 */
describe('a remote delete vs an in-process load already under way (L1 off)', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('remote-delete-flight');
  const options: CacheModuleOptions = { redis: redisUrl(), namespace, policies: { strong: { ttl: '10m', earlyRefreshBeta: 0 } } };
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

  it('a read that starts after the delete was acknowledged returns the new version', async () => {
    let row = 1;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let rowRead!: () => void;
    const loaderHasRead = new Promise<void>((resolve) => (rowRead = resolve));

    // Instance A's bus delivers nothing until the end of the test (a slow bus, made deterministic).
    const bus = a.get<{ deliver(channel: Buffer, payload: Buffer): void }>(CACHE_BUS);
    const deliver = bus.deliver.bind(bus);
    const held: Array<[Buffer, Buffer]> = [];
    bus.deliver = (channel, payload) => void held.push([channel, payload]);

    try {
      // A misses and starts loading version 1.
      const first = a.cache.getOrSet('row', async () => {
        const version = row;
        rowRead();
        await gate;
        return { version };
      }, { policy: 'strong' });
      await loaderHasRead;

      // B updates the row and evicts it; the delete is acknowledged.
      row = 2;
      await b.cache.delete('row');

      // A read that starts now must not see version 1.
      const second = a.cache.getOrSet('row', async () => ({ version: row }), { policy: 'strong' });
      release();
      expect((await first).version).toBe(1); // concurrent with the write: either version is allowed
      expect((await second).version).toBe(2);
    } finally {
      bus.deliver = deliver;
      for (const [channel, payload] of held) deliver(channel, payload);
    }
  });
});
