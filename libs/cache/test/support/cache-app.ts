import type { DynamicModule, INestApplication, ModuleMetadata, Provider, Type } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type Redis from 'ioredis';
import request from 'supertest';
import { CacheModule, type CacheModuleExtras, type CacheModuleOptions, CacheService } from '@app/cache';
import { cleanNamespace, rawRedis, redisUrl } from './redis';

/** The HTTP platforms controllers are tested on. */
export type Platform = 'express' | 'fastify';
export const PLATFORMS: readonly Platform[] = ['express', 'fastify'];

/** What {@link createCacheApp} builds. */
export interface CacheAppSpec {
  /** Options of `CacheModule.forRoot` (ignored when `module` is given). */
  cache?: CacheModuleOptions & CacheModuleExtras;
  /** A ready-made cache module, e.g. `CacheModule.forRootAsync(...)`. */
  module?: DynamicModule;
  imports?: ModuleMetadata['imports'];
  providers?: Provider[];
  controllers?: Type[];
  /** Default 'express'. */
  platform?: Platform;
}

/** A started Nest application with a cache, and shortcuts the tests need. */
export interface CacheApp {
  readonly app: INestApplication;
  readonly cache: CacheService;
  /** A provider or controller instance of the app (non-strict lookup). */
  get<T>(token: Type<T> | string | symbol): T;
  /** A supertest client of the app's HTTP server. */
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * Builds and initialises a Nest application with `CacheModule.forRoot(spec.cache)` (or `spec.module`) plus the given
 * providers and controllers, on Express or Fastify. Nest's own logging is off; spy on `Logger.prototype` to assert
 * on warnings. Rejects exactly when Nest's compile() or init() rejects, so start-up errors can be asserted on.
 * @example
 * const { get, close } = await createCacheApp({ cache: { redis: redisUrl(), namespace }, providers: [Users] });
 */
export async function createCacheApp(spec: CacheAppSpec): Promise<CacheApp> {
  const cacheModule = spec.module ?? CacheModule.forRoot(spec.cache ?? {});
  const testingModule = await Test.createTestingModule({
    imports: [cacheModule, ...(spec.imports ?? [])],
    providers: spec.providers ?? [],
    controllers: spec.controllers ?? [],
  })
    .setLogger({ log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} })
    .compile();
  const platform = spec.platform ?? 'express';
  const app =
    platform === 'fastify'
      ? testingModule.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false })
      : testingModule.createNestApplication({ logger: false });
  try {
    await app.init();
    if (platform === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return {
    app,
    cache: app.get(CacheService, { strict: false }),
    get: (token) => app.get(token, { strict: false }),
    http: () => request(app.getHttpServer()),
    close: () => app.close(),
  };
}

/** A suite's app on the test Redis and a raw client of that Redis (see {@link startCacheSuite}). */
export interface CacheSuite {
  readonly fixture: CacheApp;
  readonly redis: Redis;
}

/**
 * The usual suite set-up: a raw client of the test Redis, and an app whose cache lives there under `namespace`
 * (`spec.cache` adds the policies and other options). Pair with {@link stopCacheSuite} in afterAll.
 */
export async function startCacheSuite(namespace: string, spec: CacheAppSpec & { cache?: Omit<CacheModuleOptions & CacheModuleExtras, 'redis' | 'namespace'> }): Promise<CacheSuite> {
  const redis = rawRedis();
  try {
    return { fixture: await createCacheApp({ ...spec, cache: { redis: redisUrl(), namespace, ...spec.cache } }), redis };
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

/** Closes what {@link startCacheSuite} started and deletes the suite's keys; tolerates a start that failed. */
export async function stopCacheSuite(namespace: string, { fixture, redis }: Partial<CacheSuite>): Promise<void> {
  await fixture?.close();
  if (!redis) return;
  await cleanNamespace(redis, namespace);
  await redis.quit();
}
