import { createApp } from '../apps/credential-verification/src/bootstrap';
import { dropWorld, isolation, redisClient, testConfig, useSeededApp } from './support/app-fixture';

const ADMIN_TOKEN = 'admin-e2e-token-7f3a';

/** /metrics, and the admin routes: off without ADMIN_TOKEN, token enforced with one, key inspection and invalidation. */
describe('admin routes and /metrics (e2e)', () => {
  describe('without ADMIN_TOKEN', () => {
    const suite = useSeededApp('admin_off');

    it('has no admin routes (404), whatever token is sent', async () => {
      for (const url of ['/admin/cache', '/admin/cache/stats', '/admin/cache/keys?key=stats:public']) {
        expect((await suite.instance.app.inject({ url })).statusCode).toBe(404);
        expect((await suite.instance.app.inject({ url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode).toBe(404);
      }
      const invalidate = await suite.instance.app.inject({ method: 'POST', url: '/admin/cache/invalidate', payload: { key: 'stats:public' } });
      expect(invalidate.statusCode).toBe(404);
    });

    it('GET /metrics exposes the cache metrics after traffic', async () => {
      await suite.instance.app.inject({ url: '/stats' });
      await suite.instance.app.inject({ url: '/stats' });
      await suite.instance.app.inject({ url: '/stats' });
      const response = await suite.instance.app.inject({ url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = response.body;
      expect(text).toContain('# TYPE nest_cache_hits_total counter');
      expect(text).toContain('nest_cache_misses_total{policy="publicStats"} 1');
      expect(text).toContain('nest_cache_hits_total{policy="publicStats",tier="l2"} 2');
      expect(text).toContain('nest_cache_loads_total{policy="publicStats"} 1');
      expect(text).toMatch(/nest_cache_load_duration_seconds_count\{policy="publicStats"\} 1/);
      expect(text).toContain('nest_cache_breaker_state 0');
      expect(text).toContain('nest_cache_bus_subscribed 1');
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).not.toContain(suite.world.namespace);
    });
  });

  describe('with ADMIN_TOKEN', () => {
    const world = isolation('admin_on');
    let app: Awaited<ReturnType<typeof createApp>>;
    const redis = redisClient();
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    beforeAll(async () => {
      app = await createApp({ ...testConfig(world), adminToken: ADMIN_TOKEN }, { logger: false });
      await app.getHttpAdapter().getInstance().ready();
    });
    afterAll(async () => {
      await app?.close();
      await dropWorld(world, redis);
      redis.disconnect();
    });

    it('answers 401 without a token and 403 with a wrong one', async () => {
      for (const url of ['/admin/cache', '/admin/cache/stats', '/admin/cache/keys?key=stats:public']) {
        expect((await app.inject({ url })).statusCode).toBe(401);
        expect((await app.inject({ url, headers: bearer('wrong-token') })).statusCode).toBe(403);
        expect((await app.inject({ url: `${url}${url.includes('?') ? '&' : '?'}token=wrong-token` })).statusCode).toBe(403);
      }
      expect((await app.inject({ method: 'POST', url: '/admin/cache/invalidate', headers: bearer('wrong-token'), payload: { key: 'x' } })).statusCode).toBe(403);
    });

    it('serves the dashboard and its numbers with the right token', async () => {
      const page = await app.inject({ url: `/admin/cache?token=${ADMIN_TOKEN}` });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<svg id="chart"');
      expect(page.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // nothing from outside

      await app.inject({ url: '/stats' });
      await app.inject({ url: '/stats' });
      const stats = await app.inject({ url: '/admin/cache/stats', headers: bearer(ADMIN_TOKEN) });
      expect(stats.statusCode).toBe(200);
      const body = stats.json();
      expect(body).toMatchObject({ breaker: 'closed', busSubscribed: true, totals: { hits: 1, misses: 1, hitRate: 0.5 } });
      expect(body.policies).toEqual([expect.objectContaining({ policy: 'publicStats', hits: { l1: 0, l2: 1 }, misses: 1, loads: 1 })]);
      expect(body.policies[0].loadP99Ms).toBeGreaterThan(0);
    });

    it('inspects a key (tier, TTL left, size) and invalidates it, then a group', async () => {
      await app.inject({ url: '/stats' });
      const cached = await app.inject({ url: '/admin/cache/keys?key=stats:public', headers: bearer(ADMIN_TOKEN) });
      expect(cached.statusCode).toBe(200);
      const info = cached.json();
      expect(info).toMatchObject({ key: `${world.namespace}:stats:public`, tier: 'l2' });
      expect(info.ttlMs).toBeGreaterThan(25 * 60_000);
      expect(info.sizeBytes).toBe((await redis.getBuffer(`${world.namespace}:stats:public`))!.length);

      const invalidated = await app.inject({ method: 'POST', url: '/admin/cache/invalidate', headers: bearer(ADMIN_TOKEN), payload: { key: 'stats:public' } });
      expect(invalidated.statusCode).toBe(200);
      expect(invalidated.json()).toEqual({ key: `${world.namespace}:stats:public`, deleted: true });
      const gone = (await app.inject({ url: '/admin/cache/keys?key=stats:public', headers: bearer(ADMIN_TOKEN) })).json();
      expect(gone).toEqual({ key: `${world.namespace}:stats:public`, tier: 'none' });
      expect((await app.inject({ url: '/stats' })).headers['x-cache']).toBe('MISS');

      const group = await app.inject({ method: 'POST', url: '/admin/cache/invalidate', headers: bearer(ADMIN_TOKEN), payload: { group: 'stats' } });
      expect(group.json()).toEqual({ group: `${world.namespace}:stats`, deleted: 1 });
      expect(await redis.exists(`${world.namespace}:stats:public`)).toBe(0);

      const neither = await app.inject({ method: 'POST', url: '/admin/cache/invalidate', headers: bearer(ADMIN_TOKEN), payload: {} });
      expect(neither.statusCode).toBe(400);
      const missingKey = await app.inject({ url: '/admin/cache/keys', headers: bearer(ADMIN_TOKEN) });
      expect(missingKey.statusCode).toBe(400);
    });
  });
});
