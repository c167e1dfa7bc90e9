import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * What the module needs of a prom-client `Registry` (prom-client's own type is not named here, so that the library
 * compiles where the optional prom-client is not installed). A prom-client `Registry` is one.
 */
export interface PrometheusRegistry {
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
  metrics(): Promise<string>;
}

/** Options of `CacheMetricsModule.forRoot` / `forRootAsync`. */
export interface CacheMetricsOptions {
  /** Export through prom-client (an optional peer, required when true). Default true. */
  prometheus?: boolean;
  /** The prom-client registry to register on. Default: prom-client's global `register`. */
  registry?: PrometheusRegistry;
  /** Prefix of every metric name. Default `nest_cache_`. */
  prefix?: string;
  /**
   * Export through `@opentelemetry/api` metrics (meter `nest-redis-cache`) when that package is installed. Without an
   * OpenTelemetry SDK registered the API is a no-op. Default true.
   */
  openTelemetry?: boolean;
  /** Buckets of the loader duration histogram, in seconds. Default 1 ms to 10 s. */
  loadDurationBuckets?: number[];
}

/** Extra options that shape the module. */
export interface CacheMetricsModuleExtras {
  /** Makes {@link CacheStats} injectable everywhere without importing the module. Default false. */
  isGlobal?: boolean;
}

export const {
  ConfigurableModuleClass: ConfigurableCacheMetricsModule,
  MODULE_OPTIONS_TOKEN: CACHE_METRICS_OPTIONS,
} = new ConfigurableModuleBuilder<CacheMetricsOptions>({ moduleName: 'CacheMetrics' })
  .setClassMethodName('forRoot')
  .setExtras<CacheMetricsModuleExtras>({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** The default metric name prefix. */
export const DEFAULT_METRICS_PREFIX = 'nest_cache_';
