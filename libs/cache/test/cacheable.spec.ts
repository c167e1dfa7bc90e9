import { Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type Redis from 'ioredis';
import { isObservable, lastValueFrom, Observable, of } from 'rxjs';
import { CACHE_OPTIONS, Cacheable, CacheEngine, type PolicyRegistry } from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from './support/cache-app';
import { readEnvelope, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('cacheable');

@Injectable()
class ItemRepository {
  reads = 0;
  find(id: string) {
    this.reads++;
    return { id, name: `item ${id}`, tags: ['a', 'b'], createdAt: new Date('2024-05-06T07:08:09.010Z') };
  }
}

@Injectable()
class Catalog {
  readonly calls: Record<string, number> = {};
  constructor(private readonly repository: ItemRepository) {}

  private count(method: string) {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
  }

  @Cacheable({ key: 'item:{0}', policy: 'flat' })
  async item(id: string) {
    this.count('item');
    return this.repository.find(id);
  }

  @Cacheable({ key: (id: number) => ['jittered', id], policy: 'jittered' })
  async jittered(id: number) {
    this.count('jittered');
    return { id };
  }

  @Cacheable({ key: 'override:{0}', policy: 'flat', ttl: '2s' })
  async override(id: string) {
    this.count('override');
    return { id };
  }

  @Cacheable<[string], { partial: boolean }>({
    key: 'conditional:{0}',
    policy: 'flat',
    condition: ([id]) => !id.startsWith('skip'),
    unless: (result) => result.partial,
  })
  async conditional(id: string) {
    this.count('conditional');
    return { id, partial: id.startsWith('partial') };
  }

  @Cacheable({ key: 'sync:{0}', policy: 'flat' })
  sync(id: string) {
    this.count('sync');
    return { id, sync: true };
  }

  @Cacheable({ key: 'observable:{0}', policy: 'flat' })
  observable(id: string): Observable<{ id: string; n: number }> {
    this.count('observable');
    return of({ id, n: 1 }, { id, n: 2 });
  }

  @Cacheable<[string], unknown>({
    key: 'throwing:{0}',
    policy: 'flat',
    condition: ([id]) => {
      if (id === 'bad-condition') throw new Error('condition failed');
      return true;
    },
  })
  throwing(id: string) {
    this.count('throwing');
    if (id === 'bad-method') throw new Error('method failed');
    return { id };
  }

  @SetMetadata('roles', ['admin'])
  @Cacheable({ key: 'guarded', policy: 'flat' })
  async guarded() {
    this.count('guarded');
    return 'secret';
  }
}

describe('@Cacheable on a service method', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let catalog: Catalog;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: {
        policies: { flat: { ttl: '60s', jitter: 0 }, jittered: { ttl: '100s', jitter: 0.1 } },
      },
      providers: [ItemRepository, Catalog],
    }));
    catalog = fixture.get(Catalog);
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it('misses, then hits without calling the method again', async () => {
    const first = await catalog.item('m1');
    const second = await catalog.item('m1');
    const third = await catalog.item('m1');
    expect(catalog.calls.item).toBe(1);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    await catalog.item('m2');
    expect(catalog.calls.item).toBe(2);
  });

  it('keeps `this` and injected dependencies working inside the method', async () => {
    const repository = fixture.get(ItemRepository);
    const before = repository.reads;
    const value = await catalog.item('di');
    expect(value.name).toBe('item di');
    expect(repository.reads).toBe(before + 1);
  });

  it('stores a JSON envelope {"v","f","l"} readable with redis-cli GET', async () => {
    const before = Date.now();
    await catalog.item('envelope');
    const raw = await redis.get(`${namespace}:item:envelope`);
    expect(raw).not.toBeNull();
    const envelope = JSON.parse(raw!);
    expect(Object.keys(envelope).sort()).toEqual(['f', 'l', 'v']);
    expect(envelope.v).toEqual({
      id: 'envelope',
      name: 'item envelope',
      tags: ['a', 'b'],
      createdAt: { $date: '2024-05-06T07:08:09.010Z' },
    });
    expect(envelope.f).toBeGreaterThanOrEqual(before + 60_000);
    expect(envelope.f).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(Number.isInteger(envelope.l)).toBe(true);
    expect(envelope.l).toBeGreaterThanOrEqual(0);
  });

  it('round-trips Dates and hands every hit its own copy', async () => {
    await catalog.item('dates');
    const hit = await catalog.item('dates');
    expect(catalog.calls.item).toBeGreaterThan(0);
    expect(hit.createdAt).toBeInstanceOf(Date);
    expect(hit.createdAt.toISOString()).toBe('2024-05-06T07:08:09.010Z');
    hit.tags.push('mutated');
    const again = await catalog.item('dates');
    expect(again.tags).toEqual(['a', 'b']);
    expect(again).not.toBe(hit);
  });

  it('callers sharing one read of a warm key each get an intact copy, even when the first changes its value the moment it has it', async () => {
    const engine = fixture.get(CacheEngine);
    const policy = fixture.get<{ policies: PolicyRegistry }>(CACHE_OPTIONS).policies.resolve('flat');
    const key = `${namespace}:shared-read`;
    const load = async () => ({ tags: ['a'] });
    await engine.getOrLoad(key, policy, load);
    // All five start before the batched read is sent, so they share it; the first mutates in its own reaction.
    const first = engine.getOrLoad(key, policy, load).then((result) => {
      result.value.tags.push('mutated');
      return result;
    });
    const others = Array.from({ length: 4 }, () => engine.getOrLoad(key, policy, load));
    const results = await Promise.all([first, ...others]);
    expect(results.map((result) => result.status)).toEqual(['HIT', 'HIT', 'HIT', 'HIT', 'HIT']);
    expect(results.slice(1).map((result) => result.value.tags)).toEqual([['a'], ['a'], ['a'], ['a']]);
    expect(new Set(results.map((result) => result.value)).size).toBe(5);
  });

  it('callers sharing one lookup each receive it in the shape they asked for, with the lookup status', async () => {
    const engine = fixture.get(CacheEngine);
    const policy = fixture.get<{ policies: PolicyRegistry }>(CACHE_OPTIONS).policies.resolve('flat');
    const key = `${namespace}:shared-shapes`;
    let loads = 0;
    const load = async () => ({ tags: [`load ${++loads}`] });
    const shapes = () => [
      engine.getOrLoadAs(key, policy, load, {}, (value) => value),
      engine.getOrLoad(key, policy, load),
      engine.getOrLoadAs(key, policy, load, {}, (value, status) => `${status} ${value.tags.join()}`),
    ];
    // Cold: the three start before the read is sent, so they share it, and the one load it leads to.
    expect(await Promise.all(shapes())).toEqual([{ tags: ['load 1'] }, { value: { tags: ['load 1'] }, status: 'MISS' }, 'MISS load 1']);
    expect(await Promise.all(shapes())).toEqual([{ tags: ['load 1'] }, { value: { tags: ['load 1'] }, status: 'HIT' }, 'HIT load 1']);
    expect(loads).toBe(1);
  });

  it('spreads TTLs within the policy jitter band (100 s ± 10 %) and not all equal', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => i);
    await Promise.all(ids.map((id) => catalog.jittered(id)));
    const ttls = await Promise.all(ids.map((id) => redis.pttl(`${namespace}:jittered:${id}`)));
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThanOrEqual(89_000);
      expect(ttl).toBeLessThanOrEqual(110_000);
    }
    expect(new Set(ttls).size).toBeGreaterThan(100);
    // Both halves of the band are used, not just one side of 100 s.
    expect(ttls.some((ttl) => ttl < 97_000)).toBe(true);
    expect(ttls.some((ttl) => ttl > 103_000)).toBe(true);
    // The envelope's freshness agrees with the key's TTL.
    const envelope = await readEnvelope(redis, `${namespace}:jittered:0`);
    expect(Math.abs(envelope!.f - Date.now() - ttls[0])).toBeLessThan(2_000);
  });

  it('applies a per-method ttl over the policy TTL', async () => {
    await catalog.override('o1');
    const ttl = await redis.pttl(`${namespace}:override:o1`);
    expect(ttl).toBeGreaterThan(1_000);
    expect(ttl).toBeLessThanOrEqual(2_000);
    const policyTtl = await redis.pttl(`${namespace}:item:m1`);
    expect(policyTtl).toBeGreaterThan(50_000);
  });

  it('condition false skips the cache entirely', async () => {
    await catalog.conditional('skip-1');
    await catalog.conditional('skip-1');
    expect(catalog.calls.conditional).toBe(2);
    expect(await redis.exists(`${namespace}:conditional:skip-1`)).toBe(0);
  });

  it('unless true keeps a result out of the cache; other results are cached', async () => {
    const before = catalog.calls.conditional ?? 0;
    await catalog.conditional('partial-1');
    await catalog.conditional('partial-1');
    expect(catalog.calls.conditional).toBe(before + 2);
    expect(await redis.exists(`${namespace}:conditional:partial-1`)).toBe(0);
    await catalog.conditional('full-1');
    await catalog.conditional('full-1');
    expect(catalog.calls.conditional).toBe(before + 3);
    expect(await redis.exists(`${namespace}:conditional:full-1`)).toBe(1);
  });

  it('caches a sync method (which now returns a Promise)', async () => {
    const first = catalog.sync('s1') as unknown as Promise<{ id: string }>;
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual({ id: 's1', sync: true });
    expect(await (catalog.sync('s1') as unknown as Promise<unknown>)).toEqual({ id: 's1', sync: true });
    expect(catalog.calls.sync).toBe(1);
    expect(await redis.exists(`${namespace}:sync:s1`)).toBe(1);
  });

  it('a condition or a sync method that throws rejects the returned promise: the wrapper never throws synchronously', async () => {
    let badCondition!: Promise<unknown>;
    let badMethod!: Promise<unknown>;
    expect(() => (badCondition = catalog.throwing('bad-condition') as unknown as Promise<unknown>)).not.toThrow();
    expect(() => (badMethod = catalog.throwing('bad-method') as unknown as Promise<unknown>)).not.toThrow();
    await expect(badCondition).rejects.toThrow('condition failed');
    await expect(badMethod).rejects.toThrow('method failed');
    expect(await redis.exists(`${namespace}:throwing:bad-method`)).toBe(0);
  });

  it('caches the last value of a method returning an Observable, and still returns an Observable', async () => {
    const first = catalog.observable('r1');
    expect(isObservable(first)).toBe(true);
    expect(catalog.calls.observable).toBeUndefined(); // lazy, like the original Observable
    expect(await lastValueFrom(first)).toEqual({ id: 'r1', n: 2 });
    const second = catalog.observable('r1');
    expect(isObservable(second)).toBe(true);
    expect(await lastValueFrom(second)).toEqual({ id: 'r1', n: 2 });
    expect(catalog.calls.observable).toBe(1);
    expect((await readEnvelope(redis, `${namespace}:observable:r1`))?.v).toEqual({ id: 'r1', n: 2 });
  });

  it("keeps another decorator's metadata readable on the wrapped method", async () => {
    const reflector = fixture.get(Reflector);
    expect(reflector.get('roles', catalog.guarded)).toEqual(['admin']);
    expect(catalog.guarded.name).toBe('guarded');
    expect(await catalog.guarded()).toBe('secret');
    expect(await catalog.guarded()).toBe('secret');
    expect(catalog.calls.guarded).toBe(1);
  });
});
