import { CacheMetricsModule, OTEL_METER_NAME } from '@app/cache';
import { type BatchObservableCallback, type Meter, type MeterProvider, metrics } from '@opentelemetry/api';
import { createCacheApp } from '../support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, uniqueNamespace } from '../support/redis';

/**
 * The OpenTelemetry exporter against a recording MeterProvider registered as the global one (what an SDK does):
 * instruments on the `nest-redis-cache` meter, observed values after traffic, loader durations recorded.
 */
describe('cache metrics (@opentelemetry/api)', () => {
  const meters: string[] = [];
  const instruments = new Map<string, { kind: string }>();
  const callbacks: BatchObservableCallback[] = [];
  const recorded: Array<{ value: number; attributes: unknown }> = [];
  const instrument = (kind: string) => (name: string) => {
    const created = { kind, name, record: (value: number, attributes: unknown) => recorded.push({ value, attributes }) };
    instruments.set(name, created);
    return created;
  };
  const meter = {
    createObservableCounter: instrument('counter'),
    createObservableGauge: instrument('gauge'),
    createHistogram: instrument('histogram'),
    addBatchObservableCallback: (callback: BatchObservableCallback) => callbacks.push(callback),
    removeBatchObservableCallback: (callback: BatchObservableCallback) => callbacks.splice(callbacks.indexOf(callback), 1),
  } as unknown as Meter;
  const provider: MeterProvider = {
    getMeter: (name: string) => {
      meters.push(name);
      return meter;
    },
  };

  beforeAll(() => metrics.setGlobalMeterProvider(provider));
  afterAll(() => metrics.disable());

  it('observes the totals of CacheStats and records loader durations', async () => {
    const namespace = uniqueNamespace('otel');
    const redis = rawRedis();
    const app = await createCacheApp({
      cache: { isGlobal: true, redis: redisUrl(), namespace, policies: { plain: { ttl: '1m' } } },
      imports: [CacheMetricsModule.forRoot({ prometheus: false })],
    });
    try {
      expect(meters).toEqual([OTEL_METER_NAME]);
      expect(instruments.get('nest_cache_hits')?.kind).toBe('counter');
      expect(instruments.get('nest_cache_breaker_state')?.kind).toBe('gauge');
      expect(instruments.get('nest_cache_load_duration')?.kind).toBe('histogram');

      await app.cache.getOrSet('k', () => 'v', { policy: 'plain' });
      await app.cache.getOrSet('k', () => 'v', { policy: 'plain' });
      const observed: Array<{ name: string; value: number; attributes: unknown }> = [];
      for (const callback of callbacks) {
        await callback({ observe: (target: unknown, value: number, attributes: unknown) => observed.push({ name: (target as { name: string }).name, value, attributes }) });
      }
      expect(observed).toContainEqual({ name: 'nest_cache_hits', value: 1, attributes: { policy: 'plain', tier: 'l2' } });
      expect(observed).toContainEqual({ name: 'nest_cache_misses', value: 1, attributes: { policy: 'plain' } });
      expect(observed).toContainEqual({ name: 'nest_cache_breaker_state', value: 0, attributes: {} });
      expect(recorded).toHaveLength(1);
      expect(recorded[0].attributes).toEqual({ policy: 'plain' });
    } finally {
      await app.close();
      await cleanNamespace(redis, namespace);
      redis.disconnect();
    }
    expect(callbacks).toHaveLength(0); // removed on close
  });
});
