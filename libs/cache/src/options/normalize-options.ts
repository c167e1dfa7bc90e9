import { InvalidOptionsError } from '../cache.errors';
import { PolicyRegistry } from '../policies/policy-registry';
import type { CacheModuleOptions, CacheThrottlerOptions, RedisConnectionOption } from './cache-options.interface';
import { type Duration, parseDuration } from './duration';
import { DEFAULT_STORE_GUARD_OPTIONS, type StoreGuardOptions } from '../engine/store-guard';
import type { CacheStore } from '../stores/cache-store.interface';
import { type NormalizedWriteBehindOptions, normalizeWriteBehindOptions } from '../write-behind/write-behind.options';

/** Module options after normalisation; every provider of the module injects this, never the raw options. */
export interface NormalizedCacheOptions {
  readonly namespace: string;
  readonly policies: PolicyRegistry;
  readonly maxKeyLength: number;
  readonly redis: RedisConnectionOption | undefined;
  readonly store: CacheStore | undefined;
  readonly l1: { readonly maxEntries: number; readonly maxBytes: number };
  readonly storeGuard: StoreGuardOptions;
  readonly formatVersion: string | undefined;
  /** The current tenant, asked on every call; undefined for single-tenant modules. */
  readonly tenant: (() => string | undefined) | undefined;
  readonly throttler: { readonly failClosed: boolean; readonly timeoutMs: number };
  readonly writeBehind: NormalizedWriteBehindOptions;
}

const NAMESPACE_PATTERN = /^[A-Za-z0-9_.\-]+(?::[A-Za-z0-9_.\-]+)*$/;
const KNOWN_MODULE_FIELDS = new Set([
  'redis',
  'store',
  'namespace',
  'policies',
  'defaultPolicy',
  'codec',
  'maxKeyLength',
  'l1',
  'throttler',
  'timeouts',
  'circuitBreaker',
  'formatVersion',
  'tenant',
  'writeBehind',
]);

/** Validates module options once and fills in defaults. Every problem is reported with the option's path. */
export function normalizeCacheOptions(options: CacheModuleOptions = {}): NormalizedCacheOptions {
  for (const field of Object.keys(options)) {
    if (!KNOWN_MODULE_FIELDS.has(field)) {
      throw new InvalidOptionsError(field, `is not a CacheModule option (known: ${[...KNOWN_MODULE_FIELDS].join(', ')})`);
    }
  }
  const namespace = options.namespace ?? 'cache';
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new InvalidOptionsError('namespace', `must be letters, digits, '_', '.', '-' in ':'-separated parts, got ${JSON.stringify(namespace)}`);
  }
  const maxKeyLength = options.maxKeyLength ?? 200;
  if (!Number.isInteger(maxKeyLength) || maxKeyLength < namespace.length + 64) {
    throw new InvalidOptionsError('maxKeyLength', `must be an integer of at least the namespace length + 64 (${namespace.length + 64})`);
  }
  if (options.redis !== undefined && options.store !== undefined) {
    throw new InvalidOptionsError('store', 'cannot be combined with redis; give one of them');
  }
  return {
    namespace,
    policies: new PolicyRegistry(options.policies, options.defaultPolicy, options.codec ?? 'json'),
    maxKeyLength,
    redis: options.redis,
    store: options.store,
    throttler: normalizeThrottler(options.throttler),
    writeBehind: normalizeWriteBehindOptions(options.writeBehind),
    l1: { maxEntries: positiveInteger(options.l1?.maxEntries, 10_000, 'l1.maxEntries'), maxBytes: positiveInteger(options.l1?.maxBytes, 64 * 1024 * 1024, 'l1.maxBytes') },
    formatVersion: formatVersionOf(options.formatVersion),
    tenant: tenantOf(options.tenant),
    storeGuard: {
      readTimeoutMs: optionalDuration(options.timeouts?.read, DEFAULT_STORE_GUARD_OPTIONS.readTimeoutMs, 'timeouts.read'),
      writeTimeoutMs: optionalDuration(options.timeouts?.write, DEFAULT_STORE_GUARD_OPTIONS.writeTimeoutMs, 'timeouts.write'),
      failureThreshold: positiveInteger(options.circuitBreaker?.failureThreshold, DEFAULT_STORE_GUARD_OPTIONS.failureThreshold, 'circuitBreaker.failureThreshold'),
      coolDownMs: optionalDuration(options.circuitBreaker?.coolDown, DEFAULT_STORE_GUARD_OPTIONS.coolDownMs, 'circuitBreaker.coolDown'),
    },
  };
}

const DEFAULT_THROTTLER_TIMEOUT_MS = 100;

function normalizeThrottler(options: CacheThrottlerOptions = {}): NormalizedCacheOptions['throttler'] {
  if (options.failClosed !== undefined && typeof options.failClosed !== 'boolean') {
    throw new InvalidOptionsError('throttler.failClosed', 'must be true or false');
  }
  const timeoutMs = options.timeout === undefined ? DEFAULT_THROTTLER_TIMEOUT_MS : parseDuration(options.timeout, 'throttler.timeout');
  if (timeoutMs <= 0) throw new InvalidOptionsError('throttler.timeout', 'must be longer than 0');
  return { failClosed: options.failClosed ?? false, timeoutMs };
}

function positiveInteger(value: number | undefined, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new InvalidOptionsError(path, 'must be a positive whole number');
  return value;
}

function optionalDuration(value: Duration | undefined, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value, path);
  if (ms <= 0) throw new InvalidOptionsError(path, 'must be longer than 0');
  return ms;
}

function formatVersionOf(value: string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if ((typeof value !== 'string' && typeof value !== 'number') || String(value).length === 0) {
    throw new InvalidOptionsError('formatVersion', 'must be a non-empty string or a number');
  }
  return String(value);
}

function tenantOf(value: CacheModuleOptions['tenant']): NormalizedCacheOptions['tenant'] {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidOptionsError('tenant', 'must be a function returning the current tenant (or undefined)');
  return value;
}
