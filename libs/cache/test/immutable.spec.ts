import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { CACHE_OPTIONS, Cacheable, CacheEngine, type PolicyRegistry } from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from './support/cache-app';
import { uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('immutable');

interface Certificate {
  id: string;
  holder: { name: string; tags: string[] };
  issuedAt: Date;
}

@Injectable()
class Certificates {
  loads = 0;

  @Cacheable({ key: 'shared:{0}', policy: 'readOnly' })
  async shared(id: string): Promise<Certificate> {
    return this.load(id);
  }

  @Cacheable({ key: 'shared-l1:{0}', policy: 'readOnlyL1' })
  async sharedL1(id: string): Promise<Certificate> {
    return this.load(id);
  }

  @Cacheable({ key: 'copied:{0}', policy: 'copied' })
  async copied(id: string): Promise<Certificate> {
    return this.load(id);
  }

  private load(id: string): Certificate {
    this.loads++;
    return { id, holder: { name: `holder of ${id}`, tags: ['a'] }, issuedAt: new Date('2025-03-04T05:06:07.008Z') };
  }
}

describe('immutable policies: hits share one frozen value', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let certificates: Certificates;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: {
        policies: {
          readOnly: { ttl: '60s', jitter: 0, immutable: true },
          readOnlyL1: { ttl: '60s', jitter: 0, immutable: true, l1: true },
          copied: { ttl: '60s', jitter: 0 },
        },
      },
      providers: [Certificates],
    }));
    certificates = fixture.get(Certificates);
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it.each([
    ['Redis only', 'shared'],
    ['with L1', 'sharedL1'],
  ] as const)('%s: every hit returns the same deeply frozen instance, equal to what was loaded', async (_tier, method) => {
    const loaded = await certificates[method]('c1');
    expect(Object.isFrozen(loaded)).toBe(false); // the loader's own object, handed to its caller as it was
    const first = await certificates[method]('c1');
    const second = await certificates[method]('c1');
    expect(second).toBe(first);
    expect(first).toEqual(loaded);
    expect(first.issuedAt).toBeInstanceOf(Date);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.holder)).toBe(true);
    expect(Object.isFrozen(first.holder.tags)).toBe(true);
    // Modules are strict mode: a write to the shared value throws instead of changing what every caller sees.
    expect(() => first.holder.tags.push('mutated')).toThrow(TypeError);
    expect(() => {
      first.holder.name = 'changed';
    }).toThrow(TypeError);
    expect((await certificates[method]('c1')).holder).toEqual({ name: 'holder of c1', tags: ['a'] });
  });

  it('a new stored version of the key is a new shared instance', async () => {
    const before = await certificates.shared('c2');
    const hit = await certificates.shared('c2');
    const engine = fixture.get(CacheEngine);
    const policy = fixture.get<{ policies: PolicyRegistry }>(CACHE_OPTIONS).policies.resolve('readOnly');
    await engine.writeThrough(`${namespace}:shared:c2`, { ...before, holder: { name: 'renamed', tags: [] } }, policy);
    const after = await certificates.shared('c2');
    expect(after).not.toBe(hit);
    expect(after.holder.name).toBe('renamed');
    expect(Object.isFrozen(after.holder)).toBe(true);
    expect(hit.holder.name).toBe('holder of c2');
  });

  it('callers sharing one read of a warm key get the same frozen instance', async () => {
    await certificates.shared('c3');
    const results = await Promise.all(Array.from({ length: 5 }, () => certificates.shared('c3')));
    expect(new Set(results).size).toBe(1);
    expect(Object.isFrozen(results[0])).toBe(true);
  });

  it('callers who joined a load get the same frozen instance; the loader caller keeps the loaded object', async () => {
    const loadsBefore = certificates.loads;
    const results = await Promise.all(Array.from({ length: 4 }, () => certificates.shared('c4')));
    expect(certificates.loads).toBe(loadsBefore + 1);
    const frozen = results.filter((result) => Object.isFrozen(result));
    expect(frozen).toHaveLength(3);
    expect(new Set(frozen).size).toBe(1);
    expect(results.every((result) => result.holder.name === 'holder of c4')).toBe(true);
  });

  it('callers sharing a read of a value nested too deeply to freeze get values of their own', async () => {
    // Our JSON encoder refuses such a value (JSON.stringify gives up sooner than the freeze does), but another writer
    // may store one: its readers must not share a value that is not frozen.
    const depth = 10_000;
    const deep = `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;
    await redis.set(`${namespace}:shared:deep`, `{"v":${deep},"f":${Date.now() + 60_000},"l":1}`, 'PX', 60_000);
    const loadsBefore = certificates.loads;
    const results = await Promise.all(Array.from({ length: 3 }, () => certificates.shared('deep')));
    expect(certificates.loads).toBe(loadsBefore);
    expect(new Set(results).size).toBe(3);
    expect(results.every((result) => 'a' in result)).toBe(true);
  });

  it('a policy without immutable still gives every hit a mutable copy of its own', async () => {
    await certificates.copied('c5');
    const first = await certificates.copied('c5');
    const second = await certificates.copied('c5');
    expect(second).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(false);
    first.holder.tags.push('mine');
    expect((await certificates.copied('c5')).holder.tags).toEqual(['a']);
  });
});
