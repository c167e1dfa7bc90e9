import { InvalidOptionsError, UnknownPolicyError } from '../cache.errors';
import type { CachePolicyOptions, CodecOption } from '../options/cache-options.interface';
import { parseDuration } from '../options/duration';
import { resolveCodec } from '../serialization/resolve-codec';
import type { ResolvedPolicy } from './resolved-policy';

/** Name under which the default policy is registered when `defaultPolicy` gives options rather than a name. */
export const DEFAULT_POLICY_NAME = 'default';
const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_JITTER = 0.1;
const DEFAULT_FAIL_SAFE_BACKOFF_MS = 5_000;
const DEFAULT_LOCK = { ttlMs: 2_000, waitMs: 5_000 };
const KNOWN_POLICY_FIELDS = new Set<keyof CachePolicyOptions>([
  'ttl',
  'jitter',
  'negativeTtl',
  'cache',
  'codec',
  'staleWhileRevalidate',
  'grace',
  'failSafeBackoff',
  'earlyRefreshBeta',
  'lock',
  'softTimeout',
  'hardTimeout',
  'sliding',
  'maxBytes',
  'immutable',
  'l1',
  'readTimeout',
]);

/**
 * The named policies of one module, resolved once at start-up. Every named policy inherits the fields it leaves
 * unset from the default policy.
 */
export class PolicyRegistry {
  private readonly policies = new Map<string, ResolvedPolicy>();
  /** The policy used where a decorator or call names none. */
  readonly defaultPolicy: ResolvedPolicy;

  constructor(
    named: Record<string, CachePolicyOptions> = {},
    defaultPolicy: string | CachePolicyOptions | undefined,
    moduleCodec: CodecOption,
  ) {
    if (named === null || typeof named !== 'object') throw new InvalidOptionsError('policies', 'must be an object');
    const defaultOptions =
      typeof defaultPolicy === 'string' ? this.namedOptions(named, defaultPolicy) : (defaultPolicy ?? {});
    const baseName = typeof defaultPolicy === 'string' ? defaultPolicy : DEFAULT_POLICY_NAME;
    const basePath = typeof defaultPolicy === 'string' ? `policies.${defaultPolicy}` : 'defaultPolicy';
    const base = resolvePolicy(baseName, basePath, defaultOptions, undefined, moduleCodec);
    for (const [name, options] of Object.entries(named)) {
      this.policies.set(name, resolvePolicy(name, `policies.${name}`, options, base, moduleCodec));
    }
    this.defaultPolicy = this.policies.get(baseName) ?? base;
  }

  /** Names of the registered policies, for start-up logs and error messages. */
  get names(): string[] {
    return [...this.policies.keys()];
  }

  /**
   * The policy with this name, or the default policy when no name is given.
   * @param where `Class.method` named in the error when the policy does not exist
   * @throws UnknownPolicyError
   */
  resolve(name: string | undefined, where?: string): ResolvedPolicy {
    if (name === undefined) return this.defaultPolicy;
    const policy = this.policies.get(name) ?? (name === this.defaultPolicy.name ? this.defaultPolicy : undefined);
    if (!policy) throw new UnknownPolicyError(name, this.names, where);
    return policy;
  }

  private namedOptions(named: Record<string, CachePolicyOptions>, name: string): CachePolicyOptions {
    // Own properties only: 'toString' or 'constructor' must not resolve to Object.prototype's members.
    const options = Object.prototype.hasOwnProperty.call(named, name) ? named[name] : undefined;
    if (!options) throw new UnknownPolicyError(name, Object.keys(named), 'defaultPolicy');
    return options;
  }
}

/** @param path where the options were given, for error messages (`policies.<name>` or `defaultPolicy`) */
function resolvePolicy(
  name: string,
  path: string,
  options: CachePolicyOptions,
  base: ResolvedPolicy | undefined,
  moduleCodec: CodecOption,
): ResolvedPolicy {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError(path, 'must be an object');
  for (const field of Object.keys(options)) {
    if (!KNOWN_POLICY_FIELDS.has(field as keyof CachePolicyOptions)) {
      throw new InvalidOptionsError(`${path}.${field}`, `is not a policy option (known: ${[...KNOWN_POLICY_FIELDS].join(', ')})`);
    }
  }
  const ttlMs = options.ttl === undefined ? (base?.ttlMs ?? DEFAULT_TTL_MS) : parseDuration(options.ttl, `${path}.ttl`);
  const cache = options.cache ?? base?.cache ?? true;
  if (typeof cache !== 'boolean') throw new InvalidOptionsError(`${path}.cache`, 'must be true or false');
  if (cache && ttlMs <= 0) throw new InvalidOptionsError(`${path}.ttl`, 'must be greater than 0');
  const jitter = options.jitter ?? base?.jitter ?? DEFAULT_JITTER;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) {
    throw new InvalidOptionsError(`${path}.jitter`, 'must be a fraction from 0 (off) up to, not including, 1');
  }
  const duration = (field: 'negativeTtl' | 'staleWhileRevalidate' | 'grace' | 'failSafeBackoff' | 'softTimeout' | 'hardTimeout') =>
    options[field] === undefined ? undefined : parseDuration(options[field], `${path}.${field}`);
  const negativeTtlMs = duration('negativeTtl') ?? base?.negativeTtlMs;
  const earlyRefreshBeta = options.earlyRefreshBeta ?? base?.earlyRefreshBeta ?? 1;
  if (typeof earlyRefreshBeta !== 'number' || !(earlyRefreshBeta >= 0 && Number.isFinite(earlyRefreshBeta))) {
    throw new InvalidOptionsError(`${path}.earlyRefreshBeta`, 'must be a number >= 0 (0 turns early refresh off)');
  }
  const sliding = options.sliding ?? base?.sliding ?? false;
  const immutable = options.immutable ?? base?.immutable ?? false;
  if (typeof immutable !== 'boolean') throw new InvalidOptionsError(`${path}.immutable`, 'must be true or false');
  const policy: ResolvedPolicy = {
    name,
    cache,
    ttlMs,
    jitter,
    negativeTtlMs: negativeTtlMs === 0 ? undefined : negativeTtlMs,
    codec: options.codec === undefined ? (base?.codec ?? resolveCodec(moduleCodec, 'codec')) : resolveCodec(options.codec, `${path}.codec`),
    staleWhileRevalidateMs: duration('staleWhileRevalidate') ?? base?.staleWhileRevalidateMs ?? 0,
    graceMs: duration('grace') ?? base?.graceMs ?? 0,
    failSafeBackoffMs: duration('failSafeBackoff') ?? base?.failSafeBackoffMs ?? DEFAULT_FAIL_SAFE_BACKOFF_MS,
    earlyRefreshBeta: sliding ? 0 : earlyRefreshBeta,
    lock: resolveLock(options.lock, base ? base.lock : DEFAULT_LOCK, `${path}.lock`),
    softTimeoutMs: duration('softTimeout') ?? base?.softTimeoutMs,
    hardTimeoutMs: duration('hardTimeout') ?? base?.hardTimeoutMs,
    sliding,
    maxBytes: options.maxBytes ?? base?.maxBytes,
    immutable,
    l1: resolveL1(options.l1, base?.l1, `${path}.l1`),
    readTimeoutMs: options.readTimeout === undefined ? base?.readTimeoutMs : positiveDuration(options.readTimeout, `${path}.readTimeout`),
  };
  if (policy.maxBytes !== undefined && !(Number.isInteger(policy.maxBytes) && policy.maxBytes > 0)) {
    throw new InvalidOptionsError(`${path}.maxBytes`, 'must be a positive whole number of bytes');
  }
  if (sliding && (policy.staleWhileRevalidateMs > 0 || policy.graceMs > 0)) {
    throw new InvalidOptionsError(`${path}.sliding`, 'cannot be combined with staleWhileRevalidate or grace (a sliding entry never goes stale)');
  }
  if (sliding && policy.l1) {
    throw new InvalidOptionsError(`${path}.sliding`, 'cannot be combined with l1 (reads served in-process would not extend the shared TTL)');
  }
  if (policy.softTimeoutMs !== undefined && policy.hardTimeoutMs !== undefined && policy.softTimeoutMs >= policy.hardTimeoutMs) {
    throw new InvalidOptionsError(`${path}.softTimeout`, 'must be shorter than hardTimeout');
  }
  return policy;
}

function resolveLock(option: CachePolicyOptions['lock'], inherited: ResolvedPolicy['lock'], path: string): ResolvedPolicy['lock'] {
  if (option === undefined) return inherited;
  if (option === false) return undefined;
  const defaults = inherited ?? DEFAULT_LOCK;
  if (option === true) return defaults;
  if (option === null || typeof option !== 'object') throw new InvalidOptionsError(path, 'must be true, false or { ttl, wait }');
  const ttlMs = option.ttl === undefined ? defaults.ttlMs : parseDuration(option.ttl, `${path}.ttl`);
  const waitMs = option.wait === undefined ? defaults.waitMs : parseDuration(option.wait, `${path}.wait`);
  if (ttlMs < 10) throw new InvalidOptionsError(`${path}.ttl`, 'must be at least 10ms');
  return { ttlMs, waitMs };
}

function resolveL1(option: CachePolicyOptions['l1'], inherited: ResolvedPolicy['l1'], path: string): ResolvedPolicy['l1'] {
  if (option === undefined) return inherited;
  if (option === false) return undefined;
  if (option === true) return { ttlMs: undefined };
  if (option === null || typeof option !== 'object') throw new InvalidOptionsError(path, 'must be true, false or { ttl }');
  return { ttlMs: option.ttl === undefined ? undefined : parseDuration(option.ttl, `${path}.ttl`) };
}

function positiveDuration(value: unknown, path: string): number {
  const ms = parseDuration(value, path);
  if (ms <= 0) throw new InvalidOptionsError(path, 'must be longer than 0');
  return ms;
}
