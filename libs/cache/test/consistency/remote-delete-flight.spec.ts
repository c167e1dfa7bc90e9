import { CACHE_BUS, type CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, uniqueNamespace } from '../support/redis';

/**
 * LIBRARY BUG (found by the randomized history check, history.spec.ts, in about 1 run out of 3 when writers evict):
 * a read that starts after another instance's delete was acknowledged can still return the pre-delete version,
 * because it joins this instance's in-process load (single-flight) that started before the delete. The engine
 * detaches that load only when the bus message of the delete arrives, so for the bus's delivery time (sub-ms on
 * loopback, unbounded if the message is lost) a miss in this instance is answered with a value loaded before the
 * write. L1 is off here: the "strong" guarantee (no read that starts after an acknowledged write returns an older
 * version) does not hold for deletes. Write-through is not affected (the reader finds the new value in Redis before
 * it looks for a flight). A possible fix in the engine: a follower joins a flight only if the lease it holds is still
 * the current one (e.g. check the lease key, or let followers of a flight whose fill was refused load again).
 *
 * This test forces the interleaving by holding back bus deliveries to instance A. It fails today; it is marked
 * `it.failing` so that it starts failing (and must be turned into a plain `it`) once the engine is fixed.
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

  it.failing('a read that starts after the delete was acknowledged returns the new version', async () => {
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
