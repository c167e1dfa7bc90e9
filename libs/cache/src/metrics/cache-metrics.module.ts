import { Inject, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { CacheEvents } from '../engine/cache-events';
import { CACHE_METRICS_OPTIONS, type CacheMetricsOptions, ConfigurableCacheMetricsModule, DEFAULT_METRICS_PREFIX } from './cache-metrics.options';
import { CacheStats } from './cache-stats';
import { registerOpenTelemetryMetrics } from './opentelemetry.exporter';
import { registerPrometheusMetrics } from './prometheus.exporter';

/** Registers the exporters the options ask for when the module starts, and removes them when it stops. */
@Injectable()
export class CacheMetricsExporters implements OnModuleDestroy {
  private readonly disposers: Array<() => void> = [];

  constructor(stats: CacheStats, events: CacheEvents, @Inject(CACHE_METRICS_OPTIONS) options: CacheMetricsOptions) {
    const prefix = options.prefix ?? DEFAULT_METRICS_PREFIX;
    if (options.prometheus !== false) {
      this.disposers.push(registerPrometheusMetrics(stats, events, { registry: options.registry, prefix, buckets: options.loadDurationBuckets }));
    }
    if (options.openTelemetry !== false) this.disposers.push(registerOpenTelemetryMetrics(stats, events, { prefix }));
  }

  onModuleDestroy(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
  }
}

/**
 * Cache metrics per policy (hits by tier, misses, stale serves, refreshes, loads, errors, lock waits, store errors,
 * breaker, bus, L1 size, write-behind queue) through prom-client and/or @opentelemetry/api, and {@link CacheStats} for dashboards.
 * Needs a global `CacheModule` (`isGlobal: true`). See docs/observability.md for the metric names.
 * @example
 * imports: [CacheModule.forRoot({ isGlobal: true, redis }), CacheMetricsModule.forRoot({ registry })]
 */
@Module({
  providers: [CacheStats, CacheMetricsExporters],
  exports: [CacheStats],
})
export class CacheMetricsModule extends ConfigurableCacheMetricsModule {}
