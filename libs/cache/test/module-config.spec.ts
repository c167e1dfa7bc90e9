import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { Cacheable, CacheModule, type CacheModuleOptions, CacheService } from '@app/cache';
import { CacheConnections } from '@app/cache/stores/cache-connections';
import { createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, scanKeys, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('module');

@Injectable()
class Greeter {
  calls = 0;
  @Cacheable({ key: 'greeting:{0}', policy: 'greetings' })
  async greet(name: string) {
    this.calls++;
    return `hello ${name}`;
  }
}

/** A feature module that imports nothing, yet injects CacheService (made global by the root). */
@Injectable()
class FeatureService {
  constructor(readonly cache: CacheService) {}
}
@Module({ providers: [FeatureService], exports: [FeatureService] })
class FeatureModule {}

@Injectable()
class CacheConfigFromEnv {
  constructor(private readonly config: ConfigService) {}
  createCacheOptions(): CacheModuleOptions {
    return {
      redis: this.config.getOrThrow<string>('CACHE_REDIS_URL'),
      namespace: `${this.config.getOrThrow<string>('CACHE_NAMESPACE')}-class`,
      policies: { greetings: { ttl: this.config.getOrThrow('CACHE_GREETING_TTL') } },
    };
  }
}

const configModule = () =>
  ConfigModule.forRoot({
    ignoreEnvFile: true,
    load: [() => ({ CACHE_REDIS_URL: redisUrl(), CACHE_NAMESPACE: namespace, CACHE_GREETING_TTL: '45s' })],
  });

describe('CacheModule configuration', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = rawRedis();
  });
  afterAll(async () => {
    await cleanNamespace(redis, namespace);
    await cleanNamespace(redis, `${namespace}-class`);
    await redis.quit();
  });

  it('forRootAsync with ConfigService (useFactory + inject) configures Redis, namespace and policies', async () => {
    const fixture = await createCacheApp({
      module: CacheModule.forRootAsync({
        imports: [configModule()],
        inject: [ConfigService],
        useFactory: (config: ConfigService): CacheModuleOptions => ({
          redis: config.getOrThrow<string>('CACHE_REDIS_URL'),
          namespace: config.getOrThrow<string>('CACHE_NAMESPACE'),
          policies: { greetings: { ttl: config.getOrThrow('CACHE_GREETING_TTL'), jitter: 0 } },
        }),
      }),
      providers: [Greeter],
    });
    try {
      const greeter = fixture.get(Greeter);
      await greeter.greet('ada');
      await greeter.greet('ada');
      expect(greeter.calls).toBe(1);
      expect(await scanKeys(redis, namespace)).toEqual([`${namespace}:greeting:ada`]);
      const ttl = await redis.pttl(`${namespace}:greeting:ada`);
      expect(ttl).toBeGreaterThan(44_000);
      expect(ttl).toBeLessThanOrEqual(45_000);
    } finally {
      await fixture.close();
    }
  });

  it('forRootAsync with useClass builds the options with an injected class', async () => {
    const fixture = await createCacheApp({
      module: CacheModule.forRootAsync({ imports: [configModule()], useClass: CacheConfigFromEnv }),
      providers: [Greeter],
    });
    try {
      await fixture.get(Greeter).greet('grace');
      expect(await redis.exists(`${namespace}-class:greeting:grace`)).toBe(1);
    } finally {
      await fixture.close();
    }
  });

  it('isGlobal makes CacheService injectable in a feature module that does not import CacheModule', async () => {
    const fixture = await createCacheApp({
      cache: { redis: redisUrl(), namespace, isGlobal: true },
      imports: [FeatureModule],
    });
    try {
      const feature = fixture.get(FeatureService);
      expect(feature.cache).toBeInstanceOf(CacheService);
      expect(feature.cache).toBe(fixture.cache);
      await feature.cache.set('from-feature', 1);
      expect(await redis.exists(`${namespace}:from-feature`)).toBe(1);
    } finally {
      await fixture.close();
    }
  });

  it('without isGlobal, a feature module that does not import CacheModule cannot inject CacheService', async () => {
    // In-process store: a failed compile() leaves no app to close, so it must not open a Redis connection.
    await expect(createCacheApp({ cache: { namespace }, imports: [FeatureModule] })).rejects.toThrow(/CacheService/);
  });

  it('closes the connection it created on app.close()', async () => {
    const fixture = await createCacheApp({ cache: { redis: redisUrl(), namespace } });
    const connection = fixture.get(CacheConnections).redis!;
    expect(connection.owned).toBe(true);
    expect(connection.client.status).toBe('ready');
    await fixture.close();
    expect(connection.client.status).toBe('end');
  });

  it('leaves a Redis instance passed in open on app.close()', async () => {
    const client = new Redis(redisUrl());
    try {
      const fixture = await createCacheApp({ cache: { redis: client, namespace } });
      expect(fixture.get(CacheConnections).redis?.client).toBe(client);
      await fixture.cache.set('passed-in', 1);
      await fixture.close();
      expect(client.status).toBe('ready');
      await expect(client.ping()).resolves.toBe('PONG');
      expect(await client.exists(`${namespace}:passed-in`)).toBe(1);
    } finally {
      await client.quit();
    }
  });
});
