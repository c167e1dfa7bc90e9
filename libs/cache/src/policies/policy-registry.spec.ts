import { CacheError, InvalidDurationError, InvalidOptionsError, UnknownPolicyError } from '../cache.errors';
import type { CachePolicyOptions } from '../options/cache-options.interface';
import type { CacheCodec } from '../serialization/codec.interface';
import { JsonCodec } from '../serialization/json.codec';
import { MsgpackCodec } from '../serialization/msgpack.codec';
import { DEFAULT_POLICY_NAME, PolicyRegistry } from './policy-registry';

function registry(
  named?: Record<string, CachePolicyOptions>,
  defaultPolicy?: string | CachePolicyOptions,
  codec: 'json' | 'msgpack' | CacheCodec = 'json',
): PolicyRegistry {
  return new PolicyRegistry(named, defaultPolicy, codec);
}

function thrownBy(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (error) {
    return error as CacheError;
  }
  throw new Error('expected the call to throw');
}

describe('PolicyRegistry', () => {
  describe('defaults', () => {
    it('a named policy that sets nothing gets ttl 5m, jitter 0.1, cache true, no negative TTL, JSON', () => {
      const policy = registry({ plain: {} }).resolve('plain');
      expect(policy).toMatchObject({ name: 'plain', cache: true, ttlMs: 300_000, jitter: 0.1, negativeTtlMs: undefined, immutable: false });
      expect(policy.codec).toBeInstanceOf(JsonCodec);
    });

    it('resolve() without a name returns the default policy', () => {
      const policies = registry({ credential: { ttl: '10m' } }, { ttl: '1m' });
      expect(policies.resolve(undefined)).toBe(policies.defaultPolicy);
      expect(policies.defaultPolicy.name).toBe(DEFAULT_POLICY_NAME);
      expect(policies.defaultPolicy.ttlMs).toBe(60_000);
    });

    it('lists the registered names', () => {
      expect(registry({ a: {}, b: {} }).names).toEqual(['a', 'b']);
    });
  });

  describe('inheritance from the default policy', () => {
    const parent: CachePolicyOptions = { ttl: '1h', jitter: 0.2, negativeTtl: '30s', codec: 'msgpack' };

    it('when defaultPolicy is options, named policies take every field they leave unset from it', () => {
      const policy = registry({ child: {} }, parent).resolve('child');
      expect(policy).toMatchObject({ ttlMs: 3_600_000, jitter: 0.2, negativeTtlMs: 30_000 });
      expect(policy.codec).toBeInstanceOf(MsgpackCodec);
    });

    it('when defaultPolicy names a policy, the others inherit from that policy', () => {
      const policies = registry({ base: parent, child: { ttl: '5s' } }, 'base');
      expect(policies.defaultPolicy.name).toBe('base');
      expect(policies.resolve(undefined)).toBe(policies.resolve('base'));
      const child = policies.resolve('child');
      expect(child).toMatchObject({ ttlMs: 5_000, jitter: 0.2, negativeTtlMs: 30_000 });
      expect(child.codec).toBeInstanceOf(MsgpackCodec);
    });

    it('fields a named policy sets win over the inherited ones', () => {
      const policy = registry({ child: { ttl: '2m', jitter: 0, negativeTtl: '1s', codec: 'json' } }, parent).resolve('child');
      expect(policy).toMatchObject({ ttlMs: 120_000, jitter: 0, negativeTtlMs: 1_000 });
      expect(policy.codec).toBeInstanceOf(JsonCodec);
    });

    it('negativeTtl 0 turns off an inherited negative TTL', () => {
      expect(registry({ child: { negativeTtl: 0 } }, parent).resolve('child').negativeTtlMs).toBeUndefined();
    });

    it('cache: false on the default policy is inherited, and a named policy can turn caching back on', () => {
      // The registry promises that every unset field comes from the default policy; `cache` is one of them.
      const policies = registry({ inherits: {}, overrides: { cache: true } }, { cache: false });
      expect(policies.defaultPolicy.cache).toBe(false);
      expect(policies.resolve('inherits').cache).toBe(false);
      expect(policies.resolve('overrides').cache).toBe(true);
    });
  });

  describe('unknown policy names', () => {
    it('resolve() throws UnknownPolicyError listing the known names and where the name was used', () => {
      const error = thrownBy(() => registry({ credential: {}, user: {} }).resolve('credentials', 'CredentialService.find'));
      expect(error).toBeInstanceOf(UnknownPolicyError);
      expect(error.code).toBe('CACHE_UNKNOWN_POLICY');
      expect(error.message).toContain('CredentialService.find uses unknown cache policy "credentials"');
      expect(error.message).toContain('known policies: "credential", "user"');
    });

    it('says "(none)" when no policy is registered', () => {
      expect(thrownBy(() => registry().resolve('x')).message).toContain('known policies: (none)');
    });

    it('a defaultPolicy naming a missing policy fails with the defaultPolicy option named', () => {
      const error = thrownBy(() => registry({ credential: {} }, 'credentials'));
      expect(error).toBeInstanceOf(UnknownPolicyError);
      expect(error.message).toContain('defaultPolicy uses unknown cache policy "credentials"');
      expect(error.message).toContain('"credential"');
    });

    it.each(['toString', 'constructor', '__proto__'])(
      'a defaultPolicy naming %p (inherited from Object.prototype, not registered) is an unknown policy',
      (name) => {
        expect(() => registry({ credential: {} }, name)).toThrow(UnknownPolicyError);
      },
    );

    it.each(['toString', 'constructor'])('resolve(%p) is an unknown policy', (name) => {
      expect(() => registry({ credential: {} }).resolve(name)).toThrow(UnknownPolicyError);
    });
  });

  describe('validation', () => {
    it('rejects unknown policy fields with their path', () => {
      const error = thrownBy(() => registry({ credential: { ttl: '1m', tll: '2m' } as CachePolicyOptions }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(error.message).toContain('cache option policies.credential.tll is not a policy option');
    });

    it('rejects unknown fields of defaultPolicy options under the defaultPolicy path', () => {
      const error = thrownBy(() => registry({}, { ttl: '1m', staleTtl: '1h' } as CachePolicyOptions));
      expect(error.message).toContain('cache option defaultPolicy.staleTtl');
    });

    it('reports a bad field of the policy that defaultPolicy names under that policy\'s own path', () => {
      const error = thrownBy(() => registry({ credential: { ttl: 'soon' as '1m' } }, 'credential'));
      expect(error).toBeInstanceOf(InvalidDurationError);
      expect(error.message).toContain('cache option policies.credential.ttl');
    });

    it.each([-0.1, 1, 1.5, Number.NaN, '0.1'])('rejects jitter %p', (jitter) => {
      const error = thrownBy(() => registry({ credential: { jitter: jitter as number } }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(error.message).toContain('policies.credential.jitter');
    });

    it.each([0, 0.5, 0.999])('accepts jitter %p', (jitter) => {
      expect(registry({ credential: { jitter } }).resolve('credential').jitter).toBe(jitter);
    });

    it('rejects ttl 0 on a policy that caches', () => {
      const error = thrownBy(() => registry({ credential: { ttl: 0 } }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(error.message).toContain('policies.credential.ttl must be greater than 0');
    });

    it('rejects a ttl that rounds to 0 ms', () => {
      expect(() => registry({ credential: { ttl: 0.2 } })).toThrow(InvalidOptionsError);
    });

    it('accepts ttl 0 on a policy with cache: false (nothing is ever stored)', () => {
      const policy = registry({ token: { cache: false, ttl: 0 } }).resolve('token');
      expect(policy.cache).toBe(false);
      expect(policy.ttlMs).toBe(0);
    });

    it('rejects a cache flag that is not a boolean', () => {
      const error = thrownBy(() => registry({ token: { cache: 'no' as unknown as boolean } }));
      expect(error.message).toContain('policies.token.cache must be true or false');
    });

    it('rejects an immutable flag that is not a boolean, and lets named policies inherit it', () => {
      const error = thrownBy(() => registry({ credential: { immutable: 'yes' as unknown as boolean } }));
      expect(error.message).toContain('policies.credential.immutable must be true or false');
      expect(registry({ shared: {} }, { immutable: true }).resolve('shared').immutable).toBe(true);
    });

    it('rejects a policy that is not an object', () => {
      const error = thrownBy(() => registry({ credential: '10m' as unknown as CachePolicyOptions }));
      expect(error.message).toContain('cache option policies.credential must be an object');
    });

    it('rejects a bad negativeTtl with its path', () => {
      const error = thrownBy(() => registry({ credential: { negativeTtl: -1 } }));
      expect(error).toBeInstanceOf(InvalidDurationError);
      expect(error.message).toContain('policies.credential.negativeTtl');
    });
  });

  describe('codecs', () => {
    it('each policy may pick its own codec; the others keep the module codec', () => {
      const policies = registry({ big: { codec: 'msgpack' }, small: {} }, undefined, 'json');
      expect(policies.resolve('big').codec).toBeInstanceOf(MsgpackCodec);
      expect(policies.resolve('small').codec).toBeInstanceOf(JsonCodec);
    });

    it('takes a codec object as it is', () => {
      const custom: CacheCodec = { name: 'custom', encode: () => Buffer.alloc(0), decode: () => null };
      expect(registry({ credential: { codec: custom } }).resolve('credential').codec).toBe(custom);
    });

    it('rejects an unknown codec name with the policy path', () => {
      const error = thrownBy(() => registry({ credential: { codec: 'protobuf' as 'json' } }));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(error.message).toContain('cache option policies.credential.codec names unknown codec "protobuf"');
    });

    it('rejects an object that is not a codec', () => {
      const error = thrownBy(() => registry({ credential: { codec: { encode: () => Buffer.alloc(0) } as unknown as CacheCodec } }));
      expect(error.message).toContain('policies.credential.codec must be');
    });
  });
});
