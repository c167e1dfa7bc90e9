import { Injectable } from '@nestjs/common';
import { Cluster as ClusterClient, type Cluster, type Redis } from 'ioredis';
import { Cacheable, CacheEvict, type CacheModuleOptions, type CachePolicyOptions, leaseKeyOf, RedisStore } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { sleep, uniqueNamespace } from '../support/redis';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster';
import { describeStoreContract } from '../support/store-contract';

/**
 * Every feature on a 3-master Redis Cluster the suite starts itself: the store contract, decorators, group and
 * namespace clears over every master, the stampede lock across instances, and the bus between instances.
 * One cluster serves the whole file (starting one takes about 3 s).
 */
let cluster: TestRedisCluster;
let raw: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  raw = cluster.client();
}, 30_000);
afterAll(async () => {
  raw?.disconnect();
  await cluster?.stop();
});

const clusterOptions = (namespace: string, extra: Partial<CacheModuleOptions> = {}): CacheModuleOptions => ({
  redis: { cluster: { nodes: cluster.nodes } },
  namespace,
  ...extra,
});

/** How many of `keys` each master holds (by the slot ranges it serves). */
async function keysPerMaster(keys: readonly string[]): Promise<number[]> {
  const masters = raw.nodes('master');
  const counts = await Promise.all(
    masters.map(async (node: Redis) => {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.call('CLUSTER', 'KEYSLOT', key);
      const slots = ((await pipeline.exec()) ?? []).map(([, slot]) => Number(slot));
      const owned = await node.call('CLUSTER', 'MYID');
      const shards = (await node.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
      const ranges = shards.filter(([, , [, , id]]) => id === owned).map(([from, to]) => [from, to]);
      return slots.filter((slot) => ranges.some(([from, to]) => slot >= from && slot <= to)).length;
    }),
  );
  return counts;
}

describe('Redis Cluster (3 masters)', () => {
  let contractClient: Cluster;
  describeStoreContract('RedisStore on an ioredis Cluster', {
    create: async () => {
      contractClient = cluster.client();
      await waitReady(contractClient);
      // A small batch so deleteByPrefix needs many SCAN steps on every master.
      return new RedisStore(contractClient, { scanBatchSize: 100 });
    },
    dispose: async () => {
      await contractClient.quit();
    },
    prefix: uniqueNamespace('cluster-store'),
  });

  it('deleteByPrefix on a Cluster that knows no master yet fails instead of reporting 0 deleted', async () => {
    const client = new ClusterClient(cluster.nodes, { lazyConnect: true, enableOfflineQueue: false });
    try {
      await expect(new RedisStore(client).deleteByPrefix('anything:')).rejects.toThrow(/no master/);
    } finally {
      client.disconnect();
    }
  });

  describe('decorators and the engine', () => {
    const namespace = uniqueNamespace('cluster-engine');

    @Injectable()
    class Accounts {
      loads = 0;
      @Cacheable({ key: 'account:{0}' })
      async find(id: string) {
        this.loads++;
        return { id, version: this.loads };
      }
      @CacheEvict({ key: 'account:{0}' })
      async rename(id: string) {
        return id;
      }
      @CacheEvict({ allEntries: 'user:{0}' })
      async forgetUser(userId: string) {
        return userId;
      }
      @Cacheable({ key: 'user:{0}:doc:{1}' })
      async doc(userId: string, docId: number) {
        this.loads++;
        return { userId, docId };
      }
    }

    let fixture: CacheApp;
    let accounts: Accounts;
    beforeAll(async () => {
      fixture = await createCacheApp({ cache: clusterOptions(namespace), providers: [Accounts] });
      accounts = fixture.get(Accounts);
    });
    afterAll(() => fixture?.close());

    it('@Cacheable caches on the cluster; @CacheEvict deletes the key', async () => {
      await expect(accounts.find('a1')).resolves.toEqual({ id: 'a1', version: 1 });
      await expect(accounts.find('a1')).resolves.toEqual({ id: 'a1', version: 1 });
      expect(accounts.loads).toBe(1);
      expect(await raw.exists(`${namespace}:account:a1`)).toBe(1);
      await accounts.rename('a1');
      expect(await raw.exists(`${namespace}:account:a1`)).toBe(0);
      await expect(accounts.find('a1')).resolves.toEqual({ id: 'a1', version: 2 });
    });

    it('CacheService get / set / delete / remainingTtl', async () => {
      await fixture.cache.set('plain', { n: 1 });
      await expect(fixture.cache.get('plain')).resolves.toEqual({ n: 1 });
      expect(await fixture.cache.remainingTtl('plain')).toBeGreaterThan(0);
      await fixture.cache.deleteMany(['plain', 'never-there', 'account:a1']);
      await expect(fixture.cache.get('plain')).resolves.toBeUndefined();
    });

    it('allEntries deletes a group whose keys live on every master, and nothing else', async () => {
      const docs = Array.from({ length: 60 }, (_, i) => i);
      await Promise.all(docs.map((i) => accounts.doc('u1', i)));
      await Promise.all(docs.slice(0, 5).map((i) => accounts.doc('u2', i)));
      const keys = docs.map((i) => `${namespace}:user:u1:doc:${i}`);
      expect((await keysPerMaster(keys)).every((count) => count > 0)).toBe(true);
      expect(await countExisting(keys)).toBe(60);

      await accounts.forgetUser('u1');
      expect(await countExisting(keys)).toBe(0);
      expect(await countExisting(docs.slice(0, 5).map((i) => `${namespace}:user:u2:doc:${i}`))).toBe(5);
    });

    it('clear() empties the namespace on every master', async () => {
      const keys = Array.from({ length: 90 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((key) => fixture.cache.set(key, key)));
      const full = keys.map((key) => `${namespace}:${key}`);
      expect((await keysPerMaster(full)).every((count) => count > 0)).toBe(true);
      const other = uniqueNamespace('cluster-other');
      await raw.set(`${other}:keep`, 'x', 'EX', 60);

      await expect(fixture.cache.clear()).resolves.toBeGreaterThanOrEqual(90);
      expect(await countExisting(full)).toBe(0);
      expect(await raw.get(`${other}:keep`)).toBe('x');
      await raw.del(`${other}:keep`);
    });
  });

  describe('stampede lock across instances', () => {
    const namespace = uniqueNamespace('cluster-stampede');
    const policies: Record<string, CachePolicyOptions> = { slow: { ttl: '1m', earlyRefreshBeta: 0, lock: { ttl: '2s', wait: '5s' } } };
    let a: CacheApp;
    let b: CacheApp;
    beforeAll(async () => {
      [a, b] = await Promise.all([createCacheApp({ cache: clusterOptions(namespace, { policies }) }), createCacheApp({ cache: clusterOptions(namespace, { policies }) })]);
    });
    afterAll(() => Promise.all([a?.close(), b?.close()]));

    it('200 concurrent getOrSet in two instances on a cold key: one loader call', async () => {
      let loads = 0;
      const loader = async () => {
        loads++;
        await sleep(100);
        return { loads };
      };
      const calls = [a, b].flatMap((app) => Array.from({ length: 100 }, () => app.cache.getOrSet('hot', loader, { policy: 'slow' })));
      const values = await Promise.all(calls);
      expect(loads).toBe(1);
      for (const value of values) expect(value).toEqual({ loads: 1 });
      // The lock was released: nothing is left under the key's lock name.
      expect(await raw.exists(leaseKeyOf(`${namespace}:hot`))).toBe(0);
    });
  });

  describe('leases and tags across instances (keys of one call share a slot)', () => {
    const namespace = uniqueNamespace('cluster-leases');
    let a: CacheApp;
    let b: CacheApp;
    beforeAll(async () => {
      const options = clusterOptions(namespace, { defaultPolicy: { ttl: '1m', earlyRefreshBeta: 0 } });
      [a, b] = await Promise.all([createCacheApp({ cache: options }), createCacheApp({ cache: options })]);
    });
    afterAll(() => Promise.all([a?.close(), b?.close()]));

    it('a fill computed before a delete in another instance is refused (set-if-leased on the entry and its lease)', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const loading = new Promise<void>((resolve) => (started = resolve));
      const pending = a.cache.getOrSet('credential:7', async () => {
        started();
        await released;
        return 'valid';
      });
      await loading;
      await b.cache.delete('credential:7');
      release();
      expect(await pending).toBe('valid');
      expect(await raw.exists(`${namespace}:credential:7`)).toBe(0);
      expect(await a.cache.getOrSet('credential:7', () => 'revoked')).toBe('revoked');
    });

    it('invalidating a tag makes entries on every master misses in every instance', async () => {
      const keys = Array.from({ length: 60 }, (_, i) => `item:${i}`);
      for (const key of keys) await a.cache.getOrSet(key, () => 'v1', { tags: ['catalogue'] });
      expect((await keysPerMaster(keys.map((key) => `${namespace}:${key}`))).every((count) => count > 0)).toBe(true);
      await b.cache.invalidate({ tags: ['catalogue'] });
      for (const key of keys) expect(await a.cache.getOrSet(key, () => 'v2', { tags: ['catalogue'] })).toBe('v2');
    });
  });

  describe('bus: L1 invalidation across instances', () => {
    const namespace = uniqueNamespace('cluster-bus');
    const policies: Record<string, CachePolicyOptions> = { profile: { ttl: '1m', l1: true } };
    let a: CacheApp;
    let b: CacheApp;
    beforeAll(async () => {
      [a, b] = await Promise.all([createCacheApp({ cache: clusterOptions(namespace, { policies }) }), createCacheApp({ cache: clusterOptions(namespace, { policies }) })]);
    });
    afterAll(() => Promise.all([a?.close(), b?.close()]));

    it('a write in one instance drops the L1 copy of the other, which then sees the new value', async () => {
      await expect(b.cache.getOrSet('user:1', () => 'old', { policy: 'profile' })).resolves.toBe('old');
      // Served from b's L1 now: the key is gone from Redis, yet b still answers 'old'.
      await raw.del(`${namespace}:user:1`);
      await expect(b.cache.getOrSet('user:1', () => 'reloaded', { policy: 'profile' })).resolves.toBe('old');

      await a.cache.set('user:1', 'new', { policy: 'profile' });
      await waitFor(async () => (await b.cache.getOrSet('user:1', () => 'reloaded', { policy: 'profile' })) === 'new');
    });

    it('a delete and a clear in one instance reach the other', async () => {
      await b.cache.getOrSet('user:2', () => 'cached', { policy: 'profile' });
      await a.cache.delete('user:2');
      await waitFor(async () => (await b.cache.getOrSet('user:2', () => 'after-delete', { policy: 'profile' })) === 'after-delete');
      await a.cache.clear();
      await waitFor(async () => (await b.cache.getOrSet('user:2', () => 'after-clear', { policy: 'profile' })) === 'after-clear');
    });

    it('empties L1 after the bus connection drops and comes back (messages may have been lost)', async () => {
      await b.cache.getOrSet('user:3', () => 'cached', { policy: 'profile' });
      // A change b cannot hear: straight into Redis, then every subscriber connection on every master is killed.
      await raw.del(`${namespace}:user:3`);
      await Promise.all(raw.nodes('master').map((node: Redis) => node.call('CLIENT', 'KILL', 'TYPE', 'pubsub')));
      await waitFor(async () => (await b.cache.getOrSet('user:3', () => 'after-reconnect', { policy: 'profile' })) === 'after-reconnect');
      // And the bus still works after the reconnect.
      await a.cache.set('user:3', 'newest', { policy: 'profile' });
      await waitFor(async () => (await b.cache.getOrSet('user:3', () => 'unused', { policy: 'profile' })) === 'newest');
    });
  });
});

async function countExisting(keys: readonly string[]): Promise<number> {
  const counts = await Promise.all(keys.map((key) => raw.exists(key)));
  return counts.reduce((sum, count) => sum + count, 0);
}

async function waitReady(client: Cluster): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise((resolve) => client.once('ready', resolve));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
