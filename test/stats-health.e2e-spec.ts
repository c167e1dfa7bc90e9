import { keysUnder, useSeededApp } from './support/app-fixture';

/** Public stats (cached on the controller handler, 30 min), the query counter, the health check, and the load test's static endpoints. */
describe('stats and health (e2e)', () => {
  const suite = useSeededApp('stats');

  it('GET /stats answers X-Cache MISS, then HIT without a query, and keeps the entry 30 minutes', async () => {
    const miss = await suite.instance.app.inject({ url: '/stats' });
    expect(miss.statusCode).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.json()).toMatchObject({ organisations: 2, holders: 2, credentials: { total: 0, active: 0, revoked: 0, expired: 0 } });
    const before = suite.instance.queries();
    const hit = await suite.instance.app.inject({ url: '/stats' });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.json()).toEqual(miss.json());
    expect(suite.instance.queries()).toBe(before);
    const ttl = await suite.redis.pttl(`${suite.world.namespace}:stats:public`);
    expect(ttl).toBeGreaterThan(25 * 60_000);
    expect(ttl).toBeLessThanOrEqual(33 * 60_000);
  });

  it('GET /stats/db reports the query counter of this suite.instance', async () => {
    const first = (await suite.instance.app.inject({ url: '/stats/db' })).json();
    expect(first).toMatchObject({ kind: 'postgres' });
    expect(first.database).toContain(suite.world.schema);
    await suite.instance.app.inject({ url: `/users/${suite.fx.otherUserId}/profile` });
    const second = (await suite.instance.app.inject({ url: '/stats/db' })).json();
    expect(second.queries).toBe(first.queries + 1);
  });

  it('GET /health (terminus) answers 200 when the database answers and the cache is healthy', async () => {
    const response = await suite.instance.app.inject({ url: '/health' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      status: 'ok',
      info: {
        database: { status: 'up', kind: 'postgres' },
        cache: { status: 'up', store: 'redis', redis: 'up', bus: 'subscribed', breaker: 'closed' },
      },
      error: {},
    });
    expect(body.details).toEqual(body.info);
  });
  it("the load test's static endpoints answer a verification-shaped body without the database or the cache; the id route validates the id", async () => {
    const keysBefore = await keysUnder(suite.redis, suite.world.namespace);
    const before = suite.instance.queries();
    const plain = await suite.instance.app.inject({ url: '/static/ping' });
    const withId = await suite.instance.app.inject({ url: '/static/ping/cred_00000000000000000000' });
    expect([plain.statusCode, withId.statusCode]).toEqual([200, 200]);
    expect(plain.json()).toMatchObject({ status: 'valid', credential: { title: expect.any(String) }, issuer: { name: expect.any(String) } });
    expect(withId.json()).toEqual(plain.json());
    expect(suite.instance.queries()).toBe(before);
    expect(await keysUnder(suite.redis, suite.world.namespace)).toEqual(keysBefore);
    expect((await suite.instance.app.inject({ url: '/static/ping/not-an-id' })).statusCode).toBe(400);
  });
});
