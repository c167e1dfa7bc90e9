import { Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { Cacheable, RedisStore, WriteThrough } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { ChaosStore } from './support/chaos-store';
import { cleanNamespace, rawRedis, readEnvelope, redisUrl, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('write-through');

interface Credential {
  id: string;
  holder: string;
  status: 'active' | 'revoked';
  updatedAt: Date;
}

@Injectable()
class Credentials {
  readonly db = new Map<string, Credential>();
  loads = 0;
  private sequence = 0;

  @Cacheable({ key: 'credential:{0}', policy: 'credential' })
  async find(id: string) {
    this.loads++;
    return this.db.get(id) ?? null;
  }

  @WriteThrough({ key: 'credential:{0}', policy: 'credential' })
  async update(id: string, holder: string) {
    if (holder === 'fail') throw new Error('database write failed');
    const record: Credential = { id, holder, status: 'active', updatedAt: new Date() };
    this.db.set(id, record);
    return record;
  }

  @WriteThrough({ key: 'credential:{result.id}', policy: 'credential' })
  async create(holder: string) {
    const record: Credential = { id: `c${++this.sequence}`, holder, status: 'active', updatedAt: new Date() };
    this.db.set(record.id, record);
    return record;
  }

  @WriteThrough<[string], { ok: boolean; entity: Credential }>({
    key: 'credential:{0}',
    policy: 'credential',
    value: (result) => result.entity,
  })
  async revoke(id: string) {
    const record: Credential = { ...this.db.get(id)!, status: 'revoked', updatedAt: new Date() };
    this.db.set(id, record);
    return { ok: true, entity: record };
  }

  @WriteThrough({ key: 'credential:{0}', policy: 'credential' })
  async attachCallback(id: string) {
    return { ...this.db.get(id)!, onChange: () => 'not storable' };
  }
}

describe('@WriteThrough', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let storeClient: Redis;
  let chaos: ChaosStore;
  let credentials: Credentials;
  const key = (id: string) => `${namespace}:credential:${id}`;

  /** Caches a first version of `id` through the read path, and returns its raw bytes. */
  async function seed(id: string, holder = 'original'): Promise<string> {
    credentials.db.set(id, { id, holder, status: 'active', updatedAt: new Date('2020-01-01') });
    await credentials.find(id);
    const raw = await redis.get(key(id));
    expect(raw).not.toBeNull();
    return raw!;
  }

  beforeAll(async () => {
    redis = rawRedis();
    storeClient = rawRedis();
    chaos = new ChaosStore(new RedisStore(storeClient));
    fixture = await createCacheApp({
      cache: { store: chaos, namespace, policies: { credential: { ttl: '10m', jitter: 0 } } },
      providers: [Credentials],
    });
    credentials = fixture.get(Credentials);
  });
  afterEach(() => {
    chaos.heal();
  });
  afterAll(async () => {
    await fixture?.close();
    await cleanNamespace(redis, namespace);
    await Promise.all([redis.quit(), storeClient.quit()]);
  });

  it('caches the method result under the key after it succeeds; the next read is a hit with the new value', async () => {
    await seed('w1');
    const updated = await credentials.update('w1', 'alice');
    const envelope = await readEnvelope(redis, key('w1'));
    expect(envelope?.v).toEqual({ id: 'w1', holder: 'alice', status: 'active', updatedAt: { $date: updated.updatedAt.toISOString() } });
    const ttl = await redis.pttl(key('w1'));
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    const loads = credentials.loads;
    const read = await credentials.find('w1');
    expect(credentials.loads).toBe(loads);
    expect(read).toEqual(updated);
    expect(read?.updatedAt).toBeInstanceOf(Date);
  });

  it('caches what the value selector picks, not the whole result', async () => {
    await seed('w2');
    const response = await credentials.revoke('w2');
    expect(response.ok).toBe(true);
    const envelope = await readEnvelope(redis, key('w2'));
    expect(envelope?.v).toMatchObject({ id: 'w2', holder: 'original', status: 'revoked' });
    expect(envelope?.v).not.toHaveProperty('ok');
  });

  it('builds the key from the result with {result.id}', async () => {
    const created = await credentials.create('bob');
    expect(created.id).toMatch(/^c\d+$/);
    expect((await readEnvelope(redis, key(created.id)))?.v).toMatchObject({ id: created.id, holder: 'bob' });
  });

  it('leaves the cache untouched when the method throws', async () => {
    const before = await seed('w3');
    const ttlBefore = await redis.pttl(key('w3'));
    await expect(credentials.update('w3', 'fail')).rejects.toThrow('database write failed');
    expect(await redis.get(key('w3'))).toBe(before);
    expect(await redis.pttl(key('w3'))).toBeLessThanOrEqual(ttlBefore);
    expect(chaos.count('setIfLeased')).toBe(1); // only the seed's fill
    expect(chaos.count('set')).toBe(0); // the failed method wrote nothing
    expect(chaos.count('delete')).toBe(0);
  });

  it('deletes the key and still returns the result when the cache write fails', async () => {
    await seed('w4');
    chaos.fail('set');
    const updated = await credentials.update('w4', 'carol');
    expect(updated).toMatchObject({ id: 'w4', holder: 'carol' });
    expect(chaos.count('set')).toBe(1); // the write-through's attempt, which failed
    expect(await redis.exists(key('w4'))).toBe(0);
    chaos.heal();
    // The old value did not survive: the next read loads the new one.
    expect(await credentials.find('w4')).toMatchObject({ holder: 'carol' });
  });

  it('deletes the key and still returns the result when the value cannot be encoded', async () => {
    await seed('w5');
    const result = await credentials.attachCallback('w5');
    expect(typeof result.onChange).toBe('function');
    expect(result).toMatchObject({ id: 'w5', holder: 'original' });
    expect(await redis.exists(key('w5'))).toBe(0);
  });
});
