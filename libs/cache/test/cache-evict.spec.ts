import { Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { Cacheable, CacheEvict } from '@app/cache';
import { spawnRedisServer } from '../../../test/support/redis-server';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, monitorCommands, rawRedis, redisUrl, scanKeys, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('evict');

@Injectable()
class Accounts {
  loads = 0;
  /** Whether the evicted key still existed when a beforeInvocation method ran. */
  existedDuringCall: number | undefined;
  inspect: Redis;

  @Cacheable({ key: 'account:{0}' })
  async find(id: string) {
    this.loads++;
    return { id, version: this.loads };
  }

  @CacheEvict({ key: 'account:{0}' })
  async rename(id: string, name: string) {
    if (name === 'fail') throw new Error('rename failed');
    return { id, name };
  }

  @CacheEvict({ keys: ['account:{0}', 'account:{1}', (a: string) => ['summary', a]] })
  async merge(a: string, b: string) {
    return { a, b };
  }

  @CacheEvict({ key: 'account:{0}', beforeInvocation: true })
  async lockOut(id: string, fail: boolean) {
    this.existedDuringCall = await this.inspect.exists(`${namespace}:account:${id}`);
    if (fail) throw new Error('lock-out failed');
    return id;
  }

  @CacheEvict({ key: 'account:{result.id}' })
  async create(name: string) {
    return { id: `id-${name}`, name };
  }

  @CacheEvict({ allEntries: 'user:{0}' })
  async forgetUser(userId: string) {
    return userId;
  }

  @CacheEvict({ allEntries: true })
  async flushAll() {
    return 'flushed';
  }
}

describe('@CacheEvict', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let accounts: Accounts;
  const key = (relative: string) => `${namespace}:${relative}`;

  beforeAll(async () => {
    redis = rawRedis();
    fixture = await createCacheApp({ cache: { redis: redisUrl(), namespace }, providers: [Accounts] });
    accounts = fixture.get(Accounts);
    accounts.inspect = redis;
  });
  afterAll(async () => {
    await fixture?.close();
    await cleanNamespace(redis, namespace);
    await redis.quit();
  });

  it('deletes a single key after the method succeeds, so the next read loads again', async () => {
    await accounts.find('a1');
    expect(await redis.exists(key('account:a1'))).toBe(1);
    await accounts.find('a1');
    const loads = accounts.loads;
    await expect(accounts.rename('a1', 'new')).resolves.toEqual({ id: 'a1', name: 'new' });
    expect(await redis.exists(key('account:a1'))).toBe(0);
    await accounts.find('a1');
    expect(accounts.loads).toBe(loads + 1);
  });

  it('does not delete when the method throws', async () => {
    await accounts.find('a2');
    await expect(accounts.rename('a2', 'fail')).rejects.toThrow('rename failed');
    expect(await redis.exists(key('account:a2'))).toBe(1);
  });

  it('deletes a list of keys (templates and functions) in one go, and nothing else', async () => {
    await Promise.all([accounts.find('k1'), accounts.find('k2'), accounts.find('k3')]);
    await redis.set(key('summary:k1'), 'x', 'PX', 60_000);
    await accounts.merge('k1', 'k2');
    expect(await redis.exists(key('account:k1'), key('account:k2'), key('summary:k1'))).toBe(0);
    expect(await redis.exists(key('account:k3'))).toBe(1);
  });

  it('beforeInvocation deletes before the method runs, even when it then throws', async () => {
    await accounts.find('b1');
    await expect(accounts.lockOut('b1', false)).resolves.toBe('b1');
    expect(accounts.existedDuringCall).toBe(0);
    await accounts.find('b2');
    await expect(accounts.lockOut('b2', true)).rejects.toThrow('lock-out failed');
    expect(accounts.existedDuringCall).toBe(0);
    expect(await redis.exists(key('account:b2'))).toBe(0);
  });

  it('builds a key from the result with {result.id}', async () => {
    await accounts.find('id-zoe');
    await accounts.create('zoe');
    expect(await redis.exists(key('account:id-zoe'))).toBe(0);
  });

  it('allEntries with a prefix template deletes the group and only the group', async () => {
    const inside = [key('user:42'), key('user:42:profile'), key('user:42:orders:1'), key('user:42:orders:2')];
    const outside = [key('user:420:profile'), key('user:43:profile'), key('user:4'), key('user:42x')];
    for (const k of [...inside, ...outside]) await redis.set(k, 'x', 'PX', 60_000);
    await accounts.forgetUser('42');
    expect(await redis.exists(...inside)).toBe(0);
    expect(await redis.exists(...outside)).toBe(outside.length);
  });

  it('allEntries with a template value containing glob characters deletes nothing else', async () => {
    await redis.set(key('user:1:profile'), 'x', 'PX', 60_000);
    await accounts.forgetUser('*');
    await accounts.forgetUser('1?');
    expect(await redis.exists(key('user:1:profile'))).toBe(1);
  });
});

describe('@CacheEvict allEntries on a Redis without KEYS', () => {
  const bigNamespace = uniqueNamespace('evict-all');
  const otherNamespace = uniqueNamespace('evict-other');
  let server: Awaited<ReturnType<typeof spawnRedisServer>>;
  let redis: Redis;
  let fixture: CacheApp;

  beforeAll(async () => {
    server = await spawnRedisServer(['--rename-command', 'KEYS', '']);
    redis = new Redis(server.url);
    fixture = await createCacheApp({ cache: { redis: server.url, namespace: bigNamespace }, providers: [Accounts] });
  });
  afterAll(async () => {
    await fixture?.close();
    redis?.disconnect();
    await server?.stop();
  });

  it('the server really refuses KEYS', async () => {
    await expect(redis.keys('*')).rejects.toThrow(/unknown command/i);
  });

  it('deletes 10,000 keys of the namespace with SCAN + UNLINK and leaves other namespaces alone', async () => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 10_000; i++) pipeline.set(`${bigNamespace}:item:${i}`, 'x', 'PX', 600_000);
    for (let i = 0; i < 50; i++) pipeline.set(`${otherNamespace}:item:${i}`, 'keep', 'PX', 600_000);
    pipeline.set(`${bigNamespace}-sibling:item:1`, 'keep', 'PX', 600_000);
    pipeline.set(`${bigNamespace}`, 'keep', 'PX', 600_000);
    await pipeline.exec();
    expect(await scanKeys(redis, bigNamespace)).toHaveLength(10_000);

    const monitor = await monitorCommands(server.url, bigNamespace);
    await expect(fixture.get(Accounts).flushAll()).resolves.toBe('flushed');
    await monitor.stop();

    expect(await scanKeys(redis, bigNamespace)).toHaveLength(0);
    expect(await scanKeys(redis, otherNamespace)).toHaveLength(50);
    expect(await redis.get(`${bigNamespace}-sibling:item:1`)).toBe('keep');
    expect(await redis.get(bigNamespace)).toBe('keep');
    const names = monitor.commands.map(([name]) => name.toLowerCase());
    expect(names).toContain('scan');
    expect(names).toContain('unlink');
    expect(names).not.toContain('keys');
    // Batched: far fewer UNLINKs than keys, yet no single UNLINK of everything.
    const unlinks = monitor.commands.filter(([name]) => name.toLowerCase() === 'unlink');
    expect(unlinks.length).toBeGreaterThan(1);
    expect(Math.max(...unlinks.map((args) => args.length - 1))).toBeLessThan(10_000);
  });
});
