import type * as OtelApi from '@opentelemetry/api';
import type { CacheEvents } from '../engine/cache-events';
import { LOAD_DURATION, SAMPLED_METRICS } from './cache-metric-definitions';
import type { CacheStats } from './cache-stats';
import { loadOptionalPeer } from './optional-peer';

/** The meter name the cache's instruments are created under. */
export const OTEL_METER_NAME = 'nest-redis-cache';

/**
 * Creates the cache's instruments on the `nest-redis-cache` meter of @opentelemetry/api: observable counters and
 * gauges read from {@link CacheStats} once per collection, and a histogram of loader durations. Without an SDK the
 * global meter provider is the API's no-op one. Without @opentelemetry/api installed nothing happens. Resolves to
 * the function that removes the callback and the listener.
 */
export function registerOpenTelemetryMetrics(stats: CacheStats, events: CacheEvents, options: { prefix: string }): () => void {
  const api = loadOptionalPeer<typeof OtelApi>('@opentelemetry/api');
  if (!api) return () => undefined;
  const meter = api.metrics.getMeter(OTEL_METER_NAME);
  const instruments = SAMPLED_METRICS.map((metric) => {
    const name = `${options.prefix}${metric.name}`;
    const instrument =
      metric.kind === 'counter'
        ? meter.createObservableCounter(name, { description: metric.help })
        : meter.createObservableGauge(name, { description: metric.help });
    return { metric, instrument };
  });
  const callback: OtelApi.BatchObservableCallback = (result) => {
    const snapshot = stats.snapshot();
    for (const { metric, instrument } of instruments) metric.read(snapshot, (labels, value) => result.observe(instrument, value, labels));
  };
  const observables = instruments.map(({ instrument }) => instrument);
  meter.addBatchObservableCallback(callback, observables);

  const histogram = meter.createHistogram(`${options.prefix}${LOAD_DURATION.name.replace(/_seconds$/, '')}`, {
    description: LOAD_DURATION.help,
    unit: 's',
    advice: { explicitBucketBoundaries: [...LOAD_DURATION.buckets] },
  });
  const unsubscribe = events.on('load', ({ policy, durationMs }) => histogram.record(durationMs / 1000, { policy }));
  return () => {
    unsubscribe();
    meter.removeBatchObservableCallback(callback, observables);
  };
}
