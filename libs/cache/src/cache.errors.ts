/** Stable codes of the errors this library raises; safe to match on in logs and tests. */
export type CacheErrorCode =
  | 'CACHE_UNKNOWN_POLICY'
  | 'CACHE_INVALID_OPTIONS'
  | 'CACHE_INVALID_DURATION'
  | 'CACHE_INVALID_DECORATOR'
  | 'CACHE_INVALID_KEY'
  | 'CACHE_ENCODE_FAILED'
  | 'CACHE_DECODE_FAILED'
  | 'CACHE_NO_REDIS'
  | 'CACHE_LOADER_TIMEOUT'
  | 'CACHE_MISSING_PEER';

/** Base class of every error raised by the cache library. `code` never changes between releases. */
export class CacheError extends Error {
  constructor(
    readonly code: CacheErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`[${code}] ${message}`, options);
    this.name = new.target.name;
  }
}

/** A decorator or call names a policy that is not in the registry. Raised at start-up for decorators. */
export class UnknownPolicyError extends CacheError {
  constructor(policy: string, known: readonly string[], where?: string) {
    super(
      'CACHE_UNKNOWN_POLICY',
      `${where ? `${where} uses ` : ''}unknown cache policy "${policy}"; known policies: ${
        known.length ? known.map((name) => `"${name}"`).join(', ') : '(none)'
      }`,
    );
  }
}

/** Module or policy options that cannot be used as given. */
export class InvalidOptionsError extends CacheError {
  constructor(path: string, problem: string) {
    super('CACHE_INVALID_OPTIONS', `cache option ${path} ${problem}`);
  }
}

/** A duration that is neither a non-negative number of milliseconds nor a string like '500ms', '60s', '10m'. */
export class InvalidDurationError extends CacheError {
  constructor(path: string, value: unknown) {
    super(
      'CACHE_INVALID_DURATION',
      `cache option ${path} is not a valid duration: ${typeof value === 'number' ? String(value) : JSON.stringify(value)} ` +
        `(use milliseconds as a number, or a string such as '500ms', '60s', '10m', '2h', '1d')`,
    );
  }
}

/** A caching decorator is used in a way that cannot work (e.g. on a handler that writes the response itself). */
export class InvalidDecoratorError extends CacheError {
  constructor(where: string, problem: string) {
    super('CACHE_INVALID_DECORATOR', `${where}: ${problem}`);
  }
}

/** A key function returned something that is not a key. */
export class InvalidKeyError extends CacheError {
  constructor(problem: string) {
    super('CACHE_INVALID_KEY', problem);
  }
}

/** A value the codec cannot encode (a function, a circular structure, a BigInt in JSON, ...). Never cached. */
export class EncodeError extends CacheError {
  constructor(codec: string, cause: unknown) {
    super('CACHE_ENCODE_FAILED', `the ${codec} codec cannot encode this value: ${describe(cause)}`, { cause });
  }
}

/** Stored bytes that do not decode to an entry of this library (corrupt, truncated, or another writer's). */
export class DecodeError extends CacheError {
  constructor(codec: string, cause: unknown) {
    super('CACHE_DECODE_FAILED', `the ${codec} codec cannot decode a stored entry: ${describe(cause)}`, { cause });
  }
}

/** No Redis could be reached where one was required. */
export class NoRedisError extends CacheError {
  constructor(message: string) {
    super('CACHE_NO_REDIS', message);
  }
}

/** The loader did not finish within the policy's hard timeout and no grace value could stand in. */
export class LoaderTimeoutError extends CacheError {
  constructor(key: string, timeoutMs: number) {
    super('CACHE_LOADER_TIMEOUT', `loading "${key}" took longer than the hard timeout of ${timeoutMs} ms`);
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** An optional peer dependency that a feature needs (prom-client for Prometheus metrics) is not installed. */
export class MissingPeerError extends CacheError {
  constructor(pkg: string, feature: string, alternative: string) {
    super('CACHE_MISSING_PEER', `${feature} needs the optional peer dependency "${pkg}": npm install ${pkg}, or ${alternative}`);
  }
}
