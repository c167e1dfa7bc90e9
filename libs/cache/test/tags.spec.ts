import { Injectable } from '@nestjs/common';
import { CacheEvict, Cacheable, type CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, monitorCommands, rawRedis, redisUrl, sleep, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('tags');

@Injectable()
class Credentials {
  loads = 0;

  @Cacheable({ key: 'credential:{0}', tags: (args: unknown[], credential: { orgId: string }) => [`org:${credential.orgId}`] })
  async find(id: string) {
    this.loads++;
    return { id, orgId: id.startsWith('a') ? 'acme' : 'globex' };
  }

  @CacheEvict({ tags: (args: unknown[]) => [`org:${args[0]}`] })
  async renameOrg(orgId: string) {
    return orgId;
  }
}

/** Tag-based invalidation: lazy tag versions checked on read, one INCR per tag whatever the number of entries. */
describe('tags', () => {
  const redis = rawRedis();
  const options: CacheModuleOptions = { redis: redisUrl(), namespace, policies: { local: { ttl: '10m', l1: true } }, defaultPolicy: { ttl: '10m' } };
  let a: CacheApp;
  let b: CacheApp;

  beforeAll(async () => {
    a = await createCacheApp({ cache: options, providers: [Credentials] });
    b = await createCacheApp({ cache: options, providers: [Credentials] });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  it('invalidating a tag makes every entry carrying it a miss, with a constant number of commands', async () => {
    const count = 300;
    for (let i = 0; i < count; i++) await a.cache.getOrSet(['item', i], () => `v1-${i}`, { tags: ['catalogue'] });
    await a.cache.getOrSet('untagged', () => 'kept');
    const monitor = await monitorCommands(redisUrl(), namespace);
    await b.cache.invalidate({ tags: ['catalogue'] });
    await sleep(50);
    await monitor.stop();
    expect(monitor.commands.length).toBeLessThanOrEqual(4); // INCR tag, INCR epoch (in MULTI), PUBLISH: not 300 DELs
    for (let i = 0; i < count; i += 37) {
      expect(await a.cache.getOrSet(['item', i], () => `v2-${i}`, { tags: ['catalogue'] })).toBe(`v2-${i}`);
    }
    expect(await a.cache.getOrSet('untagged', () => 'reloaded')).toBe('kept');
  });

  it('@Cacheable tags from the result and @CacheEvict by tag work across instances, L2 and L1', async () => {
    const credentials = a.get(Credentials);
    await credentials.find('a1');
    await credentials.find('a2');
    await credentials.find('g1');
    expect(credentials.loads).toBe(3);
    await credentials.find('a1');
    expect(credentials.loads).toBe(3);
    await b.get(Credentials).renameOrg('acme');
    await credentials.find('a1');
    await credentials.find('a2');
    await credentials.find('g1');
    expect(credentials.loads).toBe(5); // acme's two reloaded, globex's still cached

    await a.cache.getOrSet('l1-entry', () => 'v1', { policy: 'local', tags: ['flags'] });
    await b.cache.invalidate({ tags: ['flags'] });
    const deadline = Date.now() + 2_000;
    let value = await a.cache.getOrSet('l1-entry', () => 'v2', { policy: 'local', tags: ['flags'] });
    while (value !== 'v2' && Date.now() < deadline) {
      await sleep(10);
      value = await a.cache.getOrSet('l1-entry', () => 'v2', { policy: 'local', tags: ['flags'] });
    }
    expect(value).toBe('v2');
  });

  it('a value loaded while its tag was invalidated is not served afterwards', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const pending = a.cache.getOrSet('racy', async () => {
      await released; // loaded "before" the invalidation, returned after it
      return 'old';
    }, { tags: ['racy-tag'] });
    await sleep(20);
    await b.cache.invalidate({ tags: ['racy-tag'] });
    release();
    expect(await pending).toBe('old');
    expect(await a.cache.getOrSet('racy', () => 'new', { tags: ['racy-tag'] })).toBe('new');
  });
});
