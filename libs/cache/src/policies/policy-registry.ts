import { InvalidOptionsError, UnknownPolicyError } from '../cache.errors';
import type { CachePolicyOptions, CodecOption } from '../options/cache-options.interface';
import { parseDuration } from '../options/duration';
import { resolveCodec } from '../serialization/resolve-codec';
import type { ResolvedPolicy } from './resolved-policy';

/** Name under which the default policy is registered when `defaultPolicy` gives options rather than a name. */
export const DEFAULT_POLICY_NAME = 'default';
const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_JITTER = 0.1;
const KNOWN_POLICY_FIELDS = new Set<keyof CachePolicyOptions>(['ttl', 'jitter', 'negativeTtl', 'cache', 'codec']);

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
  const negativeTtlMs =
    options.negativeTtl === undefined ? base?.negativeTtlMs : parseDuration(options.negativeTtl, `${path}.negativeTtl`);
  return {
    name,
    cache,
    ttlMs,
    jitter,
    negativeTtlMs: negativeTtlMs === 0 ? undefined : negativeTtlMs,
    codec: options.codec === undefined ? (base?.codec ?? resolveCodec(moduleCodec, 'codec')) : resolveCodec(options.codec, `${path}.codec`),
  };
}
