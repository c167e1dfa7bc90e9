import { CacheMetricsModule, type CacheModuleOptions, InvalidOptionsError } from '@app/cache';
import { Registry } from 'prom-client';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, sleep, uniqueNamespace } from '../support/redis';

/**
 * Prometheus metrics against real Redis: a scripted sequence of hits, misses, stale serves, refreshes, loader
 * failures, skipped values, bad entries and invalidations, then the values read back from the registry.
 */
describe('cache metrics (prom-client)', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('metrics');
  const registry = new Registry();
  const cache: CacheModuleOptions & { isGlobal: boolean } = {
    isGlobal: true,
    redis: redisUrl(),
    namespace,
    policies: {
      plain: { ttl: '1m' },
      local: { ttl: '1m', l1: true },
      swr: { ttl: 50, staleWhileRevalidate: '1m', lock: false },
      small: { ttl: '1m', maxBytes: 64 },
    },
  };
  let app: CacheApp;

  beforeAll(async () => {
    app = await createCacheApp({ cache, imports: [CacheMetricsModule.forRoot({ registry, openTelemetry: false })] });
  });
  afterAll(async () => {
    await app?.close();
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  /** The value of one sample of a metric (0 when that labelled series does not exist yet); `_count`, `_sum`, `_bucket` of histograms. */
  async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = registry.getSingleMetric(name) ?? registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''));
    if (!metric) throw new Error(`no metric ${name}`);
    const { values } = await metric.get();
    const sample = values.find(
      (candidate) =>
        ((candidate as { metricName?: string }).metricName ?? name) === name &&
        Object.entries(labels).every(([key, expected]) => String(candidate.labels[key]) === expected),
    );
    return sample?.value ?? 0;
  }

  it('counts misses, hits by tier, loads and their durations per policy', async () => {
    const load = async () => {
      await sleep(5);
      return { id: 1 };
    };
    await app.cache.getOrSet('a', load, { policy: 'plain' });
    await app.cache.getOrSet('a', load, { policy: 'plain' });
    await app.cache.getOrSet('a', load, { policy: 'plain' });
    await app.cache.getOrSet('b', load, { policy: 'local' });
    await app.cache.getOrSet('b', load, { policy: 'local' });

    expect(await value('nest_cache_misses_total', { policy: 'plain' })).toBe(1);
    expect(await value('nest_cache_hits_total', { policy: 'plain', tier: 'l2' })).toBe(2);
    expect(await value('nest_cache_hits_total', { policy: 'plain', tier: 'l1' })).toBe(0);
    expect(await value('nest_cache_misses_total', { policy: 'local' })).toBe(1);
    expect(await value('nest_cache_hits_total', { policy: 'local', tier: 'l1' })).toBe(1);
    expect(await value('nest_cache_loads_total', { policy: 'plain' })).toBe(1);
    expect(await value('nest_cache_load_duration_seconds_count', { policy: 'plain' })).toBe(1);
    expect(await value('nest_cache_load_duration_seconds_sum', { policy: 'plain' })).toBeGreaterThanOrEqual(0.004);
    expect(await value('nest_cache_load_duration_seconds_bucket', { policy: 'plain', le: '0.001' })).toBe(0);
    expect(await value('nest_cache_load_duration_seconds_bucket', { policy: 'plain', le: '10' })).toBe(1);
    expect(await value('nest_cache_l1_entries')).toBeGreaterThanOrEqual(1);
  });

  it('counts a stale serve and the background refresh it starts', async () => {
    let version = 0;
    const load = () => `v${++version}`;
    expect(await app.cache.getOrSet('c', load, { policy: 'swr' })).toBe('v1');
    await sleep(80); // past the 50 ms TTL, within stale-while-revalidate
    expect(await app.cache.getOrSet('c', load, { policy: 'swr' })).toBe('v1');
    await waitFor(async () => (await value('nest_cache_loads_total', { policy: 'swr' })) === 2);
    expect(await value('nest_cache_stale_served_total', { policy: 'swr' })).toBe(1);
    expect(await value('nest_cache_refreshes_total', { policy: 'swr', reason: 'revalidate' })).toBe(1);
    expect(await value('nest_cache_refreshes_total', { policy: 'swr', reason: 'early' })).toBe(0);
    expect(await value('nest_cache_misses_total', { policy: 'swr' })).toBe(1);
  });

  it('counts loader failures, skipped values and bad entries', async () => {
    const loadsBefore = await value('nest_cache_loads_total', { policy: 'plain' });
    await expect(app.cache.getOrSet('fails', () => Promise.reject(new Error('database down')), { policy: 'plain' })).rejects.toThrow('database down');
    expect(await value('nest_cache_loads_total', { policy: 'plain' })).toBe(loadsBefore + 1);
    expect(await value('nest_cache_load_errors_total', { policy: 'plain' })).toBe(1);

    await app.cache.getOrSet('big', () => 'x'.repeat(1_000), { policy: 'small' });
    expect(await value('nest_cache_skipped_total', { policy: 'small', reason: 'too-big' })).toBe(1);
    expect(await value('nest_cache_skipped_total', { policy: 'small', reason: 'not-encodable' })).toBe(0);

    await redis.set(`${namespace}:corrupt`, 'not an entry');
    expect(await app.cache.getOrSet('corrupt', () => 'reloaded', { policy: 'plain' })).toBe('reloaded');
    expect(await value('nest_cache_bad_entries_total', { policy: 'plain' })).toBe(1);
  });

  it('counts invalidations sent on the bus and reports breaker and bus state', async () => {
    const before = await value('nest_cache_bus_invalidations_total', { origin: 'local' });
    await app.cache.delete('a');
    await app.cache.clear('group');
    expect(await value('nest_cache_bus_invalidations_total', { origin: 'local' })).toBeGreaterThanOrEqual(before + 2);
    expect(await value('nest_cache_breaker_state')).toBe(0);
    expect(await value('nest_cache_bus_subscribed')).toBe(1);
    expect(await value('nest_cache_store_errors_total')).toBe(0);
  });

  it('never labels by key', async () => {
    const text = await registry.metrics();
    expect(text).toContain('nest_cache_hits_total{policy="plain",tier="l2"} 2');
    expect(text).not.toMatch(new RegExp(namespace));
    const labelNames = new Set((await registry.getMetricsAsJSON()).flatMap((metric) => metric.values.flatMap((sample) => Object.keys(sample.labels))));
    expect([...labelNames].sort()).toEqual(['le', 'origin', 'policy', 'reason', 'tier']);
  });

  it('refuses a registry that already holds its metrics, and unregisters them on close', async () => {
    await expect(createCacheApp({ cache: { ...cache, namespace: `${namespace}-2` }, imports: [CacheMetricsModule.forRoot({ registry, openTelemetry: false })] })).rejects.toThrow(
      InvalidOptionsError,
    );
    const own = new Registry();
    const other = await createCacheApp({ cache: { ...cache, namespace: `${namespace}-3` }, imports: [CacheMetricsModule.forRoot({ registry: own, prefix: 'svc_cache_' })] });
    expect((await own.getMetricsAsJSON()).map((metric) => metric.name)).toContain('svc_cache_hits_total');
    await other.close();
    expect(await own.getMetricsAsJSON()).toEqual([]);
  });
});

/** Stores counted by the guard: a store that times out is an error and a timeout; the breaker gauge follows. */
describe('cache metrics: store errors', () => {
  it('counts store errors and timeouts', async () => {
    const registry = new Registry();
    const namespace = uniqueNamespace('metrics-store');
    const { ChaosStore } = await import('../support/chaos-store');
    const { RedisStore } = await import('@app/cache');
    const client = rawRedis();
    const chaos = new ChaosStore(new RedisStore(client));
    const app = await createCacheApp({
      cache: { isGlobal: true, store: chaos, namespace, policies: { plain: { ttl: '1m', lock: false } } },
      imports: [CacheMetricsModule.forRoot({ registry, openTelemetry: false })],
    });
    try {
      chaos.fail('get');
      expect(await app.cache.getOrSet('k', () => 'loaded', { policy: 'plain' })).toBe('loaded');
      const errors = (await registry.getSingleMetric('nest_cache_store_errors_total')!.get()).values[0].value;
      expect(errors).toBeGreaterThanOrEqual(1);
      expect((await registry.getSingleMetric('nest_cache_store_timeouts_total')!.get()).values[0].value).toBe(0);
    } finally {
      await app.close();
      await cleanNamespace(client, namespace);
      client.disconnect();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
