import { CacheError, InvalidDurationError, InvalidOptionsError } from '../cache.errors';
import { JsonCodec } from '../serialization/json.codec';
import type { CacheStore } from '../stores/cache-store.interface';
import type { CacheModuleOptions } from './cache-options.interface';
import { normalizeCacheOptions } from './normalize-options';

function thrownBy(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (error) {
    return error as CacheError;
  }
  throw new Error('expected the call to throw');
}

describe('normalizeCacheOptions', () => {
  describe('defaults', () => {
    it('uses namespace "cache", a 200-character key limit and no Redis or store', () => {
      const options = normalizeCacheOptions();
      expect(options.namespace).toBe('cache');
      expect(options.maxKeyLength).toBe(200);
      expect(options.redis).toBeUndefined();
      expect(options.store).toBeUndefined();
    });

    it('gives the default policy a 5 minute TTL, 10 % jitter, no negative caching and the JSON codec', () => {
      const policy = normalizeCacheOptions({}).policies.defaultPolicy;
      expect(policy).toMatchObject({ name: 'default', cache: true, ttlMs: 300_000, jitter: 0.1, negativeTtlMs: undefined });
      expect(policy.codec).toBeInstanceOf(JsonCodec);
    });

    it('uses the module codec for the default policy when one is given', () => {
      expect(normalizeCacheOptions({ codec: 'msgpack' }).policies.defaultPolicy.codec.name).toBe('msgpack');
    });
  });

  describe('namespace', () => {
    it.each(['app', 'app:prod', 'my-app.v2_eu', 'a:b:c'])('accepts %p', (namespace) => {
      expect(normalizeCacheOptions({ namespace }).namespace).toBe(namespace);
    });

    it.each(['', 'has space', 'ends:', ':starts', 'a::b', 'star*', 'new\nline', 'é'])('rejects %p with the namespace path', (namespace) => {
      const error = thrownBy(() => normalizeCacheOptions({ namespace }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(error.code).toBe('CACHE_INVALID_OPTIONS');
      expect(error.message).toContain('cache option namespace');
    });

    it('rejects a namespace that is not a string', () => {
      expect(() => normalizeCacheOptions({ namespace: 42 as unknown as string })).toThrow(InvalidOptionsError);
    });
  });

  it('rejects options it does not know, naming the field', () => {
    const error = thrownBy(() => normalizeCacheOptions({ ttl: '5m' } as unknown as CacheModuleOptions));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error.message).toContain('cache option ttl is not a CacheModule option');
  });

  it('rejects redis and store given together', () => {
    const store = {} as CacheStore;
    const error = thrownBy(() => normalizeCacheOptions({ redis: 'redis://localhost:6379', store }));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error.message).toContain('cache option store cannot be combined with redis');
  });

  it('passes redis or store through untouched', () => {
    const store = {} as CacheStore;
    expect(normalizeCacheOptions({ store }).store).toBe(store);
    expect(normalizeCacheOptions({ redis: 'redis://localhost:6379' }).redis).toBe('redis://localhost:6379');
  });

  describe('maxKeyLength', () => {
    it('must leave room for the namespace plus a hashed key (namespace length + 64)', () => {
      expect(normalizeCacheOptions({ namespace: 'app', maxKeyLength: 67 }).maxKeyLength).toBe(67);
      expect(() => normalizeCacheOptions({ namespace: 'app', maxKeyLength: 66 })).toThrow(InvalidOptionsError);
    });

    it('must be an integer', () => {
      const error = thrownBy(() => normalizeCacheOptions({ maxKeyLength: 100.5 }));
      expect(error.message).toContain('cache option maxKeyLength');
    });
  });

  describe('policies', () => {
    it('resolves named policies through the registry', () => {
      const { policies } = normalizeCacheOptions({ policies: { credential: { ttl: '10m' } } });
      expect(policies.resolve('credential').ttlMs).toBe(600_000);
    });

    it('reports a bad duration inside a policy with its full path', () => {
      const error = thrownBy(() => normalizeCacheOptions({ policies: { credential: { ttl: '10 minutes' as '10m' } } }));
      expect(error).toBeInstanceOf(InvalidDurationError);
      expect(error.message).toContain('policies.credential.ttl');
    });

    it('rejects an unknown module codec with the codec path', () => {
      const error = thrownBy(() => normalizeCacheOptions({ codec: 'yaml' as 'json' }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(error.message).toContain('cache option codec names unknown codec "yaml"');
    });
  });
});

describe('normalizeCacheOptions store timeouts and circuit breaker', () => {
  it('defaults to 100 ms reads, 250 ms writes, 5 failures and a 1 s cool-down', () => {
    expect(normalizeCacheOptions({}).storeGuard).toEqual({ readTimeoutMs: 100, writeTimeoutMs: 250, failureThreshold: 5, coolDownMs: 1_000 });
  });

  it('takes durations and a threshold from the options', () => {
    const { storeGuard } = normalizeCacheOptions({ timeouts: { read: '300ms', write: '1s' }, circuitBreaker: { failureThreshold: 20, coolDown: '5s' } });
    expect(storeGuard).toEqual({ readTimeoutMs: 300, writeTimeoutMs: 1_000, failureThreshold: 20, coolDownMs: 5_000 });
  });

  it('rejects a zero timeout and a fractional threshold with the option path', () => {
    expect(() => normalizeCacheOptions({ timeouts: { read: 0 } })).toThrow(/timeouts\.read/);
    expect(() => normalizeCacheOptions({ circuitBreaker: { failureThreshold: 2.5 } })).toThrow(/circuitBreaker\.failureThreshold/);
  });
});
