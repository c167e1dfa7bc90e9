import type Redis from 'ioredis';
import { dropWorld, type Fixtures, insertFixtures, isolation, redisClient, startApp, type TestApp } from './support/app-fixture';

/** Public stats (cached on the controller handler, 30 min), the query counter, and the health check. */
describe('stats and health (e2e)', () => {
  const world = isolation('stats');
  let instance: TestApp;
  let fx: Fixtures;
  let redis: Redis;

  beforeAll(async () => {
    instance = await startApp(world);
    fx = await insertFixtures(instance.db);
    redis = redisClient();
  });

  afterAll(async () => {
    await instance?.close();
    await dropWorld(world, redis);
    redis?.disconnect();
  });

  it('GET /stats answers X-Cache MISS, then HIT without a query, and keeps the entry 30 minutes', async () => {
    const miss = await instance.app.inject({ url: '/stats' });
    expect(miss.statusCode).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.json()).toMatchObject({ organisations: 2, holders: 2, credentials: { total: 0, active: 0, revoked: 0, expired: 0 } });
    const before = instance.queries();
    const hit = await instance.app.inject({ url: '/stats' });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.json()).toEqual(miss.json());
    expect(instance.queries()).toBe(before);
    const ttl = await redis.pttl(`${world.namespace}:stats:public`);
    expect(ttl).toBeGreaterThan(25 * 60_000);
    expect(ttl).toBeLessThanOrEqual(33 * 60_000);
  });

  it('GET /stats/db reports the query counter of this instance', async () => {
    const first = (await instance.app.inject({ url: '/stats/db' })).json();
    expect(first).toMatchObject({ kind: 'postgres' });
    expect(first.database).toContain(world.schema);
    await instance.app.inject({ url: `/users/${fx.otherUserId}/profile` });
    const second = (await instance.app.inject({ url: '/stats/db' })).json();
    expect(second.queries).toBe(first.queries + 1);
  });

  it('GET /health answers 200 when the database answers', async () => {
    const response = await instance.app.inject({ url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', database: 'postgres' });
  });
});
