import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../apps/credential-verification/src/bootstrap';
import { readConfig } from '../apps/credential-verification/src/config/app-config';
import { dropWorld, isolation, keysUnder, redisClient, testConfig } from './support/app-fixture';

/**
 * The public verify endpoint is rate-limited per client IP with CacheThrottlerStorage on the app's Redis
 * (VERIFY_RATE_LIMIT per minute, 0 = off); other endpoints are not.
 */
describe('rate limit of GET /credentials/:id', () => {
  const world = isolation('ratelimit');
  const redis = redisClient();
  const apps: NestFastifyApplication[] = [];
  const unknownId = () => `cred_${randomBytes(10).toString('hex').slice(0, 20)}`;

  async function start(verifyRateLimit: number, trustProxy = true): Promise<NestFastifyApplication> {
    const app = await createApp({ ...testConfig(world), verifyRateLimit, trustProxy }, { logger: false });
    await app.getHttpAdapter().getInstance().ready();
    apps.push(app);
    return app;
  }

  afterAll(async () => {
    for (const app of apps) await app.close();
    await dropWorld(world, redis);
    redis.disconnect();
  });

  it('reads VERIFY_RATE_LIMIT (default 300 per minute, 0 turns it off)', () => {
    expect(readConfig({}).verifyRateLimit).toBe(300);
    expect(readConfig({ VERIFY_RATE_LIMIT: '0' }).verifyRateLimit).toBe(0);
    expect(() => readConfig({ VERIFY_RATE_LIMIT: '-1' })).toThrow('VERIFY_RATE_LIMIT');
  });

  it('answers 429 with Retry-After once a client IP used its limit, across instances, and leaves other IPs and endpoints alone', async () => {
    const [a, b] = [await start(5), await start(5)];
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await (i % 2 ? b : a).inject({ url: `/credentials/${unknownId()}`, headers: from('198.51.100.7') });
      statuses.push(response.statusCode);
      expect(response.headers['x-ratelimit-limit-verify']).toBe('5');
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404]);
    const refused = await b.inject({ url: `/credentials/${unknownId()}`, headers: from('198.51.100.7') });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after-verify'])).toBeGreaterThan(0);
    expect((await a.inject({ url: `/credentials/${unknownId()}`, headers: from('198.51.100.8') })).statusCode).toBe(404);
    expect((await a.inject({ url: '/health', headers: from('198.51.100.7') })).statusCode).toBe(200);
    const keys = (await keysUnder(redis, world.namespace)).filter((key) => key.includes(':throttle:'));
    expect(keys).toHaveLength(2); // one sorted set per client IP
    expect(keys.every((key) => /:throttle:verify:\{[0-9a-f]{64}\}$/.test(key))).toBe(true);
  });

  it('VERIFY_RATE_LIMIT=0 limits nothing', async () => {
    const app = await start(0);
    for (let i = 0; i < 10; i++) {
      const response = await app.inject({ url: `/credentials/${unknownId()}`, headers: { 'x-forwarded-for': '198.51.100.9' } });
      expect(response.statusCode).toBe(404);
      expect(response.headers['x-ratelimit-limit-verify']).toBeUndefined();
    }
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is set, so a client cannot dodge the limit by naming another IP', async () => {
    const app = await start(2, false);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await app.inject({ url: `/credentials/${unknownId()}`, headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([404, 404, 429]);
  });
});
