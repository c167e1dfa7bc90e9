import { CacheEvents, type WriteBehindWrite } from '@app/cache';
import { createCacheApp } from '../support/cache-app';
import { redisUrl, sleep } from '../support/redis';
import { drained, FakeDb, Posts, useWriteBehindApps } from './support/views';

describe('@WriteBehind', () => {
  const suite = useWriteBehindApps('write-behind', ({ db, namespace, writeBehind }) => ({
    cache: {
      redis: redisUrl(),
      namespace,
      writeBehind: { handlers: { views: db.handler }, claimIdle: '300ms', block: '100ms', leaderTtl: '1s', retryDelay: '50ms', ...writeBehind },
    },
    providers: [Posts],
  }));
  const { redis, start } = suite;

  it('returns before the database is written; reads see the new value, even after the entry is evicted', async () => {
    const db = new FakeDb();
    db.rows.set('views:p1', { value: 1, version: 0n });
    const producer = await start(db, { flusher: false });
    const posts = producer.get(Posts);
    expect(await posts.views('p1')).toBe(1);

    await posts.setViews('p1', 2);
    expect(db.rows.get('views:p1')!.value).toBe(1); // not flushed: no flusher runs
    expect(await posts.views('p1')).toBe(2);
    await redis.del(`${suite.namespace}:views:p1`); // evicted (or deleted) before the flush
    const loadsBefore = posts.loads;
    expect(await posts.views('p1')).toBe(2); // the queued write answers the miss, not the older row
    expect(posts.loads).toBe(loadsBefore);

    await start(db); // a flusher
    await drained(redis, suite.namespace);
    expect(db.rows.get('views:p1')!.value).toBe(2);
    await redis.del(`${suite.namespace}:views:p1`);
    expect(await posts.views('p1')).toBe(2); // from the database now
    expect(posts.loads).toBe(loadsBefore + 1);
  });

  it('CacheService.getOrSet on a key with a queued write answers with that write, not the older row', async () => {
    const db = new FakeDb();
    db.rows.set('views:p2', { value: 1, version: 0n });
    const producer = await start(db, { flusher: false });
    await producer.get(Posts).setViews('p2', 5);
    await redis.del(`${suite.namespace}:views:p2`); // evicted before the flush
    let loads = 0;
    const loadRow = () => {
      loads++;
      return db.rows.get('views:p2')!.value;
    };
    expect(await producer.cache.getOrSet('views:p2', loadRow)).toBe(5);
    expect(loads).toBe(0);
  });

  it('applies the writes of each key in order under concurrency, coalescing within a batch', async () => {
    const db = new FakeDb();
    db.checkVersions = false; // applied blindly: only the flusher's ordering keeps the last write
    db.delayMs = 20;
    const producers = [await start(db, { flusher: false }), await start(db, { flusher: false })];
    await start(db, { batchSize: 50 });
    await start(db, { batchSize: 50 }); // a second flusher stands by: one flushes at a time
    const keys = ['a', 'b', 'c', 'd', 'e'];
    let writes = 0;
    await Promise.all(
      Array.from({ length: 400 }, async (_, index) => {
        await sleep(index % 40);
        writes++;
        await producers[index % 2].get(Posts).setViews(keys[index % keys.length], index);
      }),
    );
    await drained(redis, suite.namespace);
    for (const key of keys) {
      const cached = await producers[0].get(Posts).views(key);
      expect(db.rows.get(`views:${key}`)!.value).toBe(cached); // the database ends on the last write
      const versions = db.batches.flat().filter((write) => write.key === `views:${key}`).map((write) => write.version);
      expect(versions).toEqual([...versions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      expect(new Set(versions).size).toBe(versions.length);
    }
    expect(writes).toBe(400);
    expect(db.batches.flat().length).toBeLessThan(400); // writes to one key coalesced
  });

  it('past maxLength, callers write through (the handler runs in the call) and an event moves', async () => {
    const db = new FakeDb();
    const producer = await start(db, { flusher: false, maxLength: 3 });
    const fallbacks: string[] = [];
    producer.get(CacheEvents).on('writeBehindFallback', ({ reason }) => fallbacks.push(reason));
    const posts = producer.get(Posts);
    await posts.setViews('x', 1); // queued
    for (const id of ['y', 'z']) await posts.setViews(id, 1); // queued: the queue is full
    expect(db.rows.size).toBe(0);

    await posts.setViews('w', 7); // refused: written through
    expect(db.rows.get('views:w')!.value).toBe(7);
    await posts.setViews('x', 2); // refused too, and newer than the queued x = 1
    expect(db.rows.get('views:x')!.value).toBe(2);
    expect(fallbacks).toEqual(['length', 'length']);
    expect(await posts.views('x')).toBe(2);
    await redis.del(`${suite.namespace}:views:x`);
    expect(await posts.views('x')).toBe(2); // the older queued write does not answer the miss

    await start(db); // the flusher delivers x = 1 late: its version is older, the handler keeps x = 2
    await drained(redis, suite.namespace);
    expect(db.rows.get('views:x')!.value).toBe(2);
    expect(db.rows.get('views:y')!.value).toBe(1);
  });

  it('past maxLag, callers write through', async () => {
    const db = new FakeDb();
    const producer = await start(db, { flusher: false, maxLag: '100ms' });
    const fallbacks: string[] = [];
    producer.get(CacheEvents).on('writeBehindFallback', ({ reason }) => fallbacks.push(reason));
    const posts = producer.get(Posts);
    await posts.setViews('old', 1);
    await sleep(150);
    await posts.setViews('new', 1);
    expect(fallbacks).toEqual(['lag']);
    expect(db.rows.get('views:new')!.value).toBe(1);
    expect(db.rows.has('views:old')).toBe(false);
  });

  it('retries a batch whose handler failed, before anything newer', async () => {
    const db = new FakeDb();
    const producer = await start(db, { flusher: false });
    let failures = 2;
    const flaky = async (writes: ReadonlyArray<WriteBehindWrite>) => {
      if (failures-- > 0) throw new Error('database down');
      await db.handler(writes);
    };
    await createCacheApp({
      cache: { redis: redisUrl(), namespace: suite.namespace, writeBehind: { handlers: { views: flaky }, block: '100ms', leaderTtl: '1s', retryDelay: '50ms' } },
    }).then((app) => suite.keep(app));
    await producer.get(Posts).setViews('f', 1);
    await sleep(100);
    await producer.get(Posts).setViews('f', 2);
    await drained(redis, suite.namespace);
    expect(db.rows.get('views:f')!.value).toBe(2);
    expect(failures).toBeLessThan(0);
  });

  it('fails start-up for an unknown flush handler', async () => {
    await expect(createCacheApp({ cache: { redis: redisUrl(), namespace: suite.namespace }, providers: [Posts] })).rejects.toThrow(/flush handler "views"/);
  });
});
