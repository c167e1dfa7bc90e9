import type * as PromClient from 'prom-client';
import { InvalidOptionsError, MissingPeerError } from '../cache.errors';
import type { CacheEvents } from '../engine/cache-events';
import { LOAD_DURATION, SAMPLED_METRICS } from './cache-metric-definitions';
import type { PrometheusRegistry } from './cache-metrics.options';
import type { CacheStats } from './cache-stats';
import { loadOptionalPeer } from './optional-peer';

/**
 * Registers the cache metrics on a prom-client registry. Counters and gauges are read from {@link CacheStats} when the
 * registry is scraped (the hit path pays nothing for Prometheus); the loader histogram is observed per load.
 * prom-client is required here and only here. Resolves to the function that unregisters everything.
 */
export function registerPrometheusMetrics(
  stats: CacheStats,
  events: CacheEvents,
  options: { registry?: PrometheusRegistry; prefix: string; buckets?: readonly number[] },
): () => void {
  const prom = loadOptionalPeer<typeof PromClient>('prom-client');
  if (!prom) throw new MissingPeerError('prom-client', 'CacheMetricsModule (Prometheus)', 'pass { prometheus: false }');
  const registry = (options.registry ?? prom.register) as PromClient.Registry;
  const names = [...SAMPLED_METRICS.map((metric) => promName(options.prefix, metric)), `${options.prefix}${LOAD_DURATION.name}`];
  const taken = names.find((name) => registry.getSingleMetric(name));
  if (taken) {
    throw new InvalidOptionsError('registry', `already holds a metric named ${taken}: give each application its own Registry, or another prefix`);
  }

  for (const metric of SAMPLED_METRICS) {
    const config = { name: promName(options.prefix, metric), help: metric.help, labelNames: [...metric.labels], registers: [registry] };
    if (metric.kind === 'counter') {
      new prom.Counter({
        ...config,
        collect() {
          this.reset();
          metric.read(stats.snapshot(), (labels, value) => this.inc(labels, value));
        },
      });
    } else {
      new prom.Gauge({
        ...config,
        collect() {
          this.reset();
          metric.read(stats.snapshot(), (labels, value) => this.set(labels, value));
        },
      });
    }
  }

  const histogram = new prom.Histogram({
    name: `${options.prefix}${LOAD_DURATION.name}`,
    help: LOAD_DURATION.help,
    labelNames: [...LOAD_DURATION.labels],
    buckets: [...(options.buckets ?? LOAD_DURATION.buckets)],
    registers: [registry],
  });
  const byPolicy = new Map<string, PromClient.Histogram.Internal<string>>();
  const unsubscribe = events.on('load', ({ policy, durationMs }) => {
    let child = byPolicy.get(policy);
    if (!child) byPolicy.set(policy, (child = histogram.labels({ policy })));
    child.observe(durationMs / 1000);
  });

  return () => {
    unsubscribe();
    for (const name of names) registry.removeSingleMetric(name);
  };
}

/** Prometheus name: prefix, base name, and `_total` for counters. */
export function promName(prefix: string, metric: { name: string; kind: 'counter' | 'gauge' }): string {
  return `${prefix}${metric.name}${metric.kind === 'counter' ? '_total' : ''}`;
}
