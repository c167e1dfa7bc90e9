/** Injection token of the prom-client registry of this app instance (one per instance, so tests can run several). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
