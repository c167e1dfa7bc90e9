import { CacheEvents, InvalidDecoratorError, versionOf, WriteBehindFlusher, writeBehindKeys } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { type TestRedisCluster, startRedisCluster } from '../support/redis-cluster';
import { RedisProcess } from '../support/redis-process';
import { rawRedis, sleep, uniqueNamespace } from '../support/redis';
import { eventually, FakeDb, Posts } from './support/views';

/** Write-behind where it cannot queue: on a Redis Cluster (refused), and with its Redis killed (writes through). */
describe('write-behind without a usable queue', () => {
  const apps: CacheApp[] = [];

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  describe('on a Redis Cluster', () => {
    let cluster: TestRedisCluster;

    beforeAll(async () => {
      cluster = await startRedisCluster();
    }, 30_000);

    afterAll(() => cluster.stop());

    it('refuses a @WriteBehind at start-up', async () => {
      Posts.db = new FakeDb();
      const starting = createCacheApp({
        cache: { redis: { cluster: { nodes: cluster.nodes } }, namespace: uniqueNamespace('wb-cluster'), writeBehind: { handlers: { views: Posts.db.handler } } },
        providers: [Posts],
      });
      await expect(starting).rejects.toThrow(InvalidDecoratorError);
      await expect(starting).rejects.toThrow(/Posts\.setViews: @WriteBehind needs a single Redis node/);
    });

    it('starts without @WriteBehind, but runs no flusher there', async () => {
      const namespace = uniqueNamespace('wb-cluster');
      const app = await createCacheApp({
        cache: { redis: { cluster: { nodes: cluster.nodes } }, namespace, writeBehind: { handlers: { views: () => undefined }, leaderTtl: '300ms', block: '100ms' } },
      });
      apps.push(app);
      await sleep(400);
      expect(app.get(WriteBehindFlusher).isLeader).toBe(false);
      const client = cluster.client();
      try {
        const queue = writeBehindKeys(namespace);
        expect(await client.exists(queue.leader, queue.stream, queue.pending)).toBe(0);
      } finally {
        client.disconnect();
      }
    });
  });

  describe('with Redis killed', () => {
    let redis: RedisProcess;

    beforeAll(async () => {
      redis = await RedisProcess.start();
    });

    afterAll(() => redis.stop());

    it('writes through: the database gets the write, newer than any queued one, and the call does not fail', async () => {
      const db = new FakeDb();
      Posts.db = db;
      const namespace = uniqueNamespace('wb-down');
      const queue = writeBehindKeys(namespace);
      const app = await createCacheApp({
        cache: { redis: redis.url, namespace, writeBehind: { flusher: false, handlers: { views: db.handler } } },
        providers: [Posts],
      });
      apps.push(app);
      const reasons: string[] = [];
      app.get(CacheEvents).on('writeBehindFallback', ({ reason }) => reasons.push(reason));
      const posts = app.get(Posts);
      const raw = rawRedis(redis.url);
      try {
        await posts.setViews('p', 1); // queued: no flusher runs, the database has nothing yet
        expect(db.rows.size).toBe(0);
        const [[queuedId]] = await raw.xrange(queue.stream, '-', '+');

        await redis.kill();
        const started = Date.now();
        await expect(posts.setViews('p', 2)).resolves.toBe(2);
        expect(Date.now() - started).toBeLessThan(2_000); // bounded by the write timeout, not by reconnection
        expect(reasons).toEqual(['unavailable']);
        // Its version (this host's clock) is above the queued write's, so a late flush of that one changes nothing.
        expect(db.rows.get('views:p')!.value).toBe(2);
        expect(db.rows.get('views:p')!.version).toBeGreaterThan(versionOf(queuedId));

        // Once Redis is back (empty: no persistence), writes are queued again instead of written through.
        await redis.restart();
        await eventually('a write queued again', async () => {
          await posts.setViews('q', 1);
          return (await raw.xlen(queue.stream)) === 1;
        });
      } finally {
        raw.disconnect();
      }
    });
  });
});
