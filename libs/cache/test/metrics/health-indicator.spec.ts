import { ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { CacheHealthIndicator } from '@app/cache/health';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { RedisProcess } from '../support/redis-process';
import { sleep, uniqueNamespace } from '../support/redis';

/** The terminus health indicator against a redis-server this test owns: up, down while it is killed, up after restart. */
describe('CacheHealthIndicator', () => {
  let server: RedisProcess;
  let app: CacheApp;
  let indicator: CacheHealthIndicator;
  let health: HealthCheckService;
  const check = () => health.check([() => indicator.isHealthy('cache', { timeoutMs: 300 })]);

  beforeAll(async () => {
    server = await RedisProcess.start();
    app = await createCacheApp({
      cache: { isGlobal: true, redis: server.url, namespace: uniqueNamespace('health') },
      imports: [TerminusModule],
      providers: [CacheHealthIndicator],
    });
    indicator = app.get(CacheHealthIndicator);
    health = app.get(HealthCheckService);
  });
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('is up when Redis answers PING, the bus is subscribed and the breaker is closed', async () => {
    await waitFor(async () => (await indicator.isHealthy()).cache.status === 'up');
    const result = await indicator.isHealthy();
    expect(result.cache).toMatchObject({ status: 'up', store: 'redis', redis: 'up', bus: 'subscribed', breaker: 'closed' });
    expect(result.cache.pingMs).toBeGreaterThanOrEqual(0);
    expect(await check()).toMatchObject({ status: 'ok', info: { cache: { status: 'up' } } });
  });

  it('flips to down when Redis is killed, and back up when it restarts on the same port', async () => {
    await server.kill();
    // Both connections notice the dead socket, each on its own close event: wait for the command connection (PING)
    // and the subscriber (bus) alike.
    await waitFor(async () => {
      const { cache } = await indicator.isHealthy('cache', { timeoutMs: 300 });
      return cache.redis === 'down' && cache.bus === 'disconnected';
    });
    const down = await indicator.isHealthy('cache', { timeoutMs: 300 });
    expect(down.cache).toMatchObject({ status: 'down', redis: 'down', bus: 'disconnected' });
    expect(down.cache.message).toContain('Redis did not answer PING within 300 ms');
    const failure = await check().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServiceUnavailableException);
    expect((failure as ServiceUnavailableException).getResponse()).toMatchObject({ status: 'error', error: { cache: { status: 'down' } } });

    await server.restart();
    await waitFor(async () => (await indicator.isHealthy()).cache.status === 'up', 10_000);
    expect((await indicator.isHealthy()).cache).toMatchObject({ status: 'up', redis: 'up', bus: 'subscribed', breaker: 'closed' });
  });

  it('is up on the in-process store (nothing to reach)', async () => {
    const local = await createCacheApp({ cache: { isGlobal: true, namespace: uniqueNamespace('health-local') }, imports: [TerminusModule], providers: [CacheHealthIndicator] });
    try {
      expect((await local.get(CacheHealthIndicator).isHealthy('store')).store).toEqual({ status: 'up', store: 'memory', redis: 'n/a', bus: 'subscribed', breaker: 'closed' });
    } finally {
      await local.close();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}
