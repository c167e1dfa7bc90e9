import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { Cacheable } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, scanKeys, uniqueNamespace } from './support/redis';

const currentTenant = new AsyncLocalStorage<string>();

@Injectable()
class Settings {
  loads = 0;

  @Cacheable({ key: 'settings:{0}' })
  async get(name: string) {
    this.loads++;
    return `${currentTenant.getStore() ?? 'no tenant'}:${name}`;
  }
}

/** Multi-tenant keys: the same call in two tenants reads two entries, and the namespace clear covers them all. */
describe('tenant part in keys', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('tenants');
  let app: CacheApp;

  beforeAll(async () => {
    app = await createCacheApp({
      cache: { redis: redisUrl(), namespace, tenant: () => currentTenant.getStore(), defaultPolicy: { ttl: '10m' } },
      providers: [Settings],
    });
  });
  afterAll(async () => {
    await app?.close();
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  it('keeps each tenant in its own keys, hostile tenant names included', async () => {
    const settings = app.get(Settings);
    expect(await currentTenant.run('acme', () => settings.get('theme'))).toBe('acme:theme');
    expect(await currentTenant.run('globex', () => settings.get('theme'))).toBe('globex:theme');
    expect(await currentTenant.run('acme', () => settings.get('theme'))).toBe('acme:theme');
    expect(await currentTenant.run('evil:*\n', () => settings.get('theme'))).toBe('evil:*\n:theme');
    expect(await settings.get('theme')).toBe('no tenant:theme');
    expect(settings.loads).toBe(4);
    const keys = await scanKeys(redis, namespace);
    expect(keys).toEqual(expect.arrayContaining([`${namespace}:~t.acme:settings:theme`, `${namespace}:~t.globex:settings:theme`, `${namespace}:settings:theme`]));
    expect(keys.every((key) => /^[A-Za-z0-9_.\-@+=~:{}]+$/.test(key))).toBe(true);
  });

  it('CacheService uses the current tenant too, and clearing the namespace clears every tenant', async () => {
    await currentTenant.run('acme', () => app.cache.set('flag', 'on'));
    expect(await currentTenant.run('globex', () => app.cache.get('flag'))).toBeUndefined();
    expect(await currentTenant.run('acme', () => app.cache.get('flag'))).toBe('on');
    await app.cache.clear();
    expect(await scanKeys(redis, namespace)).toEqual([]);
  });
});
