export { CacheMetricsModule } from './cache-metrics.module';
export { type CacheMetricsModuleExtras, type CacheMetricsOptions, CACHE_METRICS_OPTIONS, DEFAULT_METRICS_PREFIX, type PrometheusRegistry } from './cache-metrics.options';
export { CacheStats, type CacheStatsSnapshot, type PolicyStats } from './cache-stats';
export { BREAKER_STATE_VALUE, LOAD_DURATION, SAMPLED_METRICS, type SampledMetric } from './cache-metric-definitions';
export { OTEL_METER_NAME } from './opentelemetry.exporter';
