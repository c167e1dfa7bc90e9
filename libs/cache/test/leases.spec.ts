import type { CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, readEnvelope, redisUrl, uniqueNamespace } from './support/redis';

/**
 * The cache-aside race, forced step by step: reader A misses and reads row v1; writer B (another instance) updates
 * the row to v2 and evicts (or writes through); only then does A try to fill the cache with v1. Naive cache-aside
 * keeps v1 until its TTL (a revoked credential shown as valid); with leases A's fill is refused.
 */
interface Row {
  id: string;
  status: 'valid' | 'revoked';
  version: number;
}

/** A gate the test opens when it wants the paused loader to return. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('race-free cache-aside (leases)', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('leases');
  const options: CacheModuleOptions = {
    redis: redisUrl(),
    namespace,
    policies: { locked: { ttl: '10m' }, unlocked: { ttl: '10m', lock: false } },
  };
  let reader: CacheApp;
  let writer: CacheApp;
  let database: Map<string, Row>;

  beforeAll(async () => {
    reader = await createCacheApp({ cache: options });
    writer = await createCacheApp({ cache: options });
  });
  beforeEach(() => {
    database = new Map();
  });
  afterAll(async () => {
    await Promise.all([reader?.close(), writer?.close()]);
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  /** Starts A's read; resolves once its loader has read the row, and returns A's pending result and its gate. */
  async function readerLoadsV1(id: string, policy: string) {
    database.set(id, { id, status: 'valid', version: 1 });
    const release = gate();
    let rowRead!: () => void;
    const loaderHasRead = new Promise<void>((resolve) => (rowRead = resolve));
    const result = reader.cache.getOrSet<Row>(['credential', id], async () => {
      const row = { ...database.get(id)! };
      rowRead();
      await release.wait;
      return row;
    }, { policy });
    await loaderHasRead;
    return { result, release };
  }

  const revokeInDatabase = (id: string) => database.set(id, { id, status: 'revoked', version: 2 });

  it('naive cache-aside (the anchor): the stale v1 fill lands after the eviction and stays', async () => {
    const key = `${namespace}:naive:c0`;
    database.set('c0', { id: 'c0', status: 'valid', version: 1 });
    const loaded = JSON.stringify(database.get('c0')); // A: miss, reads v1 ...
    revokeInDatabase('c0'); // B: update ...
    await redis.del(key); // ... and evict
    await redis.set(key, loaded, 'PX', 600_000); // A: fills with v1
    expect(JSON.parse((await redis.get(key))!)).toMatchObject({ status: 'valid', version: 1 });
  });

  it.each(['locked', 'unlocked'])('with leases (%s policy), a fill computed before an eviction is refused', async (policy) => {
    const id = `c-evict-${policy}`;
    const { result, release } = await readerLoadsV1(id, policy);
    revokeInDatabase(id);
    await writer.cache.delete(['credential', id]);
    release.open();
    expect(await result).toMatchObject({ version: 1 }); // A answers its own caller with what it read
    expect(await redis.exists(`${namespace}:credential:${id}`)).toBe(0); // ... but did not cache it
    const next = await reader.cache.getOrSet<Row>(['credential', id], () => ({ ...database.get(id)! }), { policy });
    expect(next).toMatchObject({ status: 'revoked', version: 2 });
  });

  it.each(['locked', 'unlocked'])('with leases (%s policy), a fill computed before a write-through cannot overwrite it', async (policy) => {
    const id = `c-write-${policy}`;
    const { result, release } = await readerLoadsV1(id, policy);
    revokeInDatabase(id);
    await writer.cache.set(['credential', id], database.get(id), { policy });
    release.open();
    await result;
    expect((await readEnvelope(redis, `${namespace}:credential:${id}`))?.v).toMatchObject({ status: 'revoked', version: 2 });
  });

  it('a caller arriving after the eviction does not join the load that started before it', async () => {
    const id = 'c-join';
    const { result, release } = await readerLoadsV1(id, 'locked');
    revokeInDatabase(id);
    await reader.cache.delete(['credential', id]); // evicted in A's own process this time
    const later = reader.cache.getOrSet<Row>(['credential', id], () => ({ ...database.get(id)! }), { policy: 'locked' });
    release.open();
    await result;
    expect(await later).toMatchObject({ status: 'revoked', version: 2 });
  });
});
