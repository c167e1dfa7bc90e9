import 'reflect-metadata';
import { CACHE_OPERATIONS_METADATA } from '../cache.constants';
import { CacheEvict } from './cache-evict.decorator';
import { getOperations } from './cache-operation';
import { Cacheable } from './cacheable.decorator';
import { WriteThrough } from './write-through.decorator';

/** Decorators only record metadata: these tests run them on plain classes, with no Nest module and no store. */

const isActive = (args: [string]) => args[0] !== 'skip';

class CredentialService {
  calls = 0;

  @Cacheable({ key: 'credential:{0}', policy: 'credential', ttl: '1m', condition: isActive })
  find(id: string) {
    this.calls++;
    return { id, calls: this.calls };
  }

  @WriteThrough({ key: 'credential:{result.id}', policy: 'credential' })
  @CacheEvict({ key: 'credential-list:{0}' })
  @CacheEvict({ allEntries: 'org:{0}', beforeInvocation: true })
  async revoke(id: string) {
    this.calls++;
    return { id, revoked: true };
  }

  plain(id: string) {
    return id;
  }
}

describe('@Cacheable, @CacheEvict, @WriteThrough', () => {
  const proto = CredentialService.prototype;

  it('record one operation with its kind and options on the method', () => {
    expect(getOperations(proto.find)).toEqual([
      { kind: 'cacheable', key: 'credential:{0}', policy: 'credential', ttl: '1m', condition: isActive },
    ]);
  });

  it('accumulate several operations on one method, in the order the decorators are applied (bottom up)', () => {
    expect(getOperations(proto.revoke)).toEqual([
      { kind: 'evict', allEntries: 'org:{0}', beforeInvocation: true },
      { kind: 'evict', key: 'credential-list:{0}' },
      { kind: 'writeThrough', key: 'credential:{result.id}', policy: 'credential' },
    ]);
  });

  it('store the operations under the library metadata key', () => {
    expect(Reflect.getMetadata(CACHE_OPERATIONS_METADATA, proto.find)).toBe(getOperations(proto.find));
  });

  it('leave undecorated methods and non-functions without operations', () => {
    expect(getOperations(proto.plain)).toBeUndefined();
    expect(getOperations(undefined)).toBeUndefined();
    expect(getOperations({})).toBeUndefined();
  });

  it('do not share operations between methods or classes', () => {
    class Other {
      @Cacheable({ key: 'other:{0}' })
      find(id: string) {
        return id;
      }
    }
    expect(getOperations(Other.prototype.find)).toHaveLength(1);
    expect(getOperations(proto.find)).toHaveLength(1);
  });

  it('do not change what the method does when called without Nest', async () => {
    const service = new CredentialService();
    // Still synchronous, still bound to `this`, still run on every call: nothing is cached without the module.
    expect(service.find('c-1')).toEqual({ id: 'c-1', calls: 1 });
    expect(service.find('c-1')).toEqual({ id: 'c-1', calls: 2 });
    await expect(service.revoke('c-1')).resolves.toEqual({ id: 'c-1', revoked: true });
    expect(service.calls).toBe(3);
  });

  it('keep the original function on the prototype (no wrapper)', () => {
    expect(proto.find.name).toBe('find');
    expect(proto.find.length).toBe(1);
  });
});
