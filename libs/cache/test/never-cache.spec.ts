import { Controller, Get, Injectable, Param } from '@nestjs/common';
import type Redis from 'ioredis';
import { Cacheable, WriteThrough } from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from './support/cache-app';
import { monitorCommands, redisUrl, scanKeys, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('never-cache');

@Injectable()
class Tokens {
  issued = 0;

  @Cacheable({ key: 'token:{0}', policy: 'secret' })
  async issue(user: string) {
    this.issued++;
    return { user, token: `t-${this.issued}` };
  }

  @WriteThrough({ key: 'token:{0}', policy: 'secret' })
  async rotate(user: string) {
    this.issued++;
    return { user, token: `t-${this.issued}` };
  }
}

@Controller('tokens')
class TokensController {
  calls = 0;
  @Get(':user')
  @Cacheable({ key: 'http-token:{0}', policy: 'secret' })
  token(@Param('user') user: string) {
    this.calls++;
    return { user, call: this.calls };
  }
}

describe("policy with cache: false (data that must never be cached)", () => {
  let fixture: CacheApp;
  let redis: Redis;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: { policies: { secret: { cache: false }, normal: { ttl: '1m' } } },
      providers: [Tokens],
      controllers: [TokensController],
    }));
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it('calls the loader every time and never sends a command for its keys to Redis', async () => {
    const tokens = fixture.get(Tokens);
    const monitor = await monitorCommands(redisUrl(), namespace);
    try {
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await tokens.issue('alice'));
      expect(tokens.issued).toBe(5);
      expect(new Set(results.map((result) => result.token)).size).toBe(5);
      await tokens.rotate('alice');
      expect(tokens.issued).toBe(6);

      const cache = fixture.cache;
      let loads = 0;
      for (let i = 0; i < 3; i++) await cache.getOrSet('token:bob', () => ++loads, { policy: 'secret' });
      expect(loads).toBe(3);
      await expect(cache.set('token:bob', 'x', { policy: 'secret' })).resolves.toBe(false);
      await expect(cache.get('token:bob', { policy: 'secret' })).resolves.toBeUndefined();

      const first = await fixture.http().get('/tokens/carol');
      const second = await fixture.http().get('/tokens/carol');
      expect(first.body).toEqual({ user: 'carol', call: 1 });
      expect(second.body).toEqual({ user: 'carol', call: 2 });
      expect(second.headers['x-cache']).toBe('BYPASS');
    } finally {
      await monitor.stop();
    }
    expect(monitor.commands).toEqual([]);
    expect(await scanKeys(redis, namespace)).toEqual([]);
  });

  it('the monitor would have seen writes of a caching policy (control)', async () => {
    const monitor = await monitorCommands(redisUrl(), namespace);
    await fixture.cache.set('control', 1, { policy: 'normal' });
    await monitor.stop();
    expect(monitor.commands.map(([name]) => name.toLowerCase())).toContain('set');
    expect(await scanKeys(redis, namespace)).toEqual([`${namespace}:control`]);
  });
});
