import 'reflect-metadata';
import { Injectable, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cacheable, CacheModule } from '@app/cache';
import { peerRequire, peerVersion } from '../support/peers';
import { epochMs, sleep } from '../support/stats';

/**
 * The two libraries the outage benchmark puts through a Redis outage. Each is opened in a worker process of its
 * own and offers one call, `item(id)`: a cached service call whose loader sleeps `loaderMs` and stamps the value
 * with the time it finished, so the harness can tell a cache hit (stamped before the call started) from a load.
 */

/** An opened contender. */
export interface OutageClient {
  item(id: number): Promise<Item>;
  /** Lines the library logged about the store (ours: breaker opened / closed); undefined when not observable. */
  logLines?(): { unavailable: number; answering: number };
  close(): Promise<void>;
}

/** What the loader returns; `loadedAt` (epoch ms, when the load finished) survives JSON in Redis. */
export interface Item {
  readonly id: number;
  readonly loadedAt: number;
}

export interface OutageContext {
  readonly redisUrl: string;
  /** Unique per run; every key the contender writes starts with it. */
  readonly prefix: string;
  readonly loaderMs: number;
  readonly ttlMs: number;
}

export type OutageContenderId = 'ours' | 'cache-manager';

export interface OutageContenderSpec {
  readonly id: OutageContenderId;
  readonly label: string;
  readonly side: 'ours' | 'peer';
  version(): string;
  open(context: OutageContext): Promise<OutageClient>;
}

const load = async (id: number, loaderMs: number): Promise<Item> => {
  await sleep(loaderMs);
  return { id, loadedAt: epochMs() };
};

/**
 * Ours: a @Cacheable method of a provider, CacheModule.forRoot({ redis }) with the library's defaults for
 * everything that matters here (timeouts 100/250 ms, breaker after 5 failures with a 1 s cool-down, lock on).
 * Nest's logger is replaced by one that counts the guard's two outage lines, so "one line per outage" is visible.
 */
const ours: OutageContenderSpec = {
  id: 'ours',
  label: 'ours (@Cacheable, Redis only)',
  side: 'ours',
  version: () => '@app/cache (this repo)',
  async open({ redisUrl, prefix, loaderMs, ttlMs }) {
    @Injectable()
    class Catalogue {
      @Cacheable({ key: 'item:{0}' })
      async item(id: number): Promise<Item> {
        return load(id, loaderMs);
      }
    }
    @Module({
      imports: [CacheModule.forRoot({ redis: redisUrl, namespace: prefix, defaultPolicy: { ttl: ttlMs } })],
      providers: [Catalogue],
    })
    class OutageBenchModule {}
    const lines = { unavailable: 0, answering: 0 };
    const count = (message: unknown) => {
      const text = String(message);
      if (text.includes('store unavailable')) lines.unavailable++;
      if (text.includes('answering again')) lines.answering++;
    };
    const logger: LoggerService = { log: count, error: count, warn: count, debug: () => undefined, verbose: () => undefined };
    const app = await NestFactory.createApplicationContext(OutageBenchModule, { logger });
    const catalogue = app.get(Catalogue);
    return { item: (id) => catalogue.item(id), logLines: () => ({ ...lines }), close: () => app.close() };
  },
};

/**
 * @nestjs/cache-manager as Nest's caching docs set it up for Redis: CacheModule.register({ stores: [createKeyv(url)] })
 * (cache-manager 7, Keyv, @keyv/redis with its defaults), used through CACHE_MANAGER's `wrap`. Redis only, like ours
 * (the docs' example also puts a CacheableMemory tier in front; that would hide the outage for keys it holds).
 */
const cacheManager: OutageContenderSpec = {
  id: 'cache-manager',
  label: '@nestjs/cache-manager + @keyv/redis',
  side: 'peer',
  version: () =>
    `@nestjs/cache-manager ${peerVersion('@nestjs/cache-manager')}, cache-manager ${peerVersion('cache-manager')}, keyv ${peerVersion('keyv')}, @keyv/redis ${peerVersion('@keyv/redis')}`,
  async open({ redisUrl, prefix, loaderMs, ttlMs }) {
    const common = peerRequire('@nestjs/common');
    const core = peerRequire('@nestjs/core');
    const { CacheModule: PeerCacheModule, CACHE_MANAGER } = peerRequire('@nestjs/cache-manager');
    const { createKeyv } = peerRequire('@keyv/redis');
    class PeerOutageModule {}
    common.Module({ imports: [PeerCacheModule.register({ stores: [createKeyv(redisUrl)], ttl: ttlMs })] })(PeerOutageModule);
    const app = await core.NestFactory.createApplicationContext(PeerOutageModule, { logger: false });
    const cache = app.get(CACHE_MANAGER) as { wrap<T>(key: string, fn: () => Promise<T>, ttl: number): Promise<T> };
    return {
      item: (id) => cache.wrap(`${prefix}:item:${id}`, () => load(id, loaderMs), ttlMs),
      close: () => app.close(),
    };
  },
};

export const OUTAGE_CONTENDERS: readonly OutageContenderSpec[] = [ours, cacheManager];

export function outageContender(id: OutageContenderId): OutageContenderSpec {
  const spec = OUTAGE_CONTENDERS.find((candidate) => candidate.id === id);
  if (!spec) throw new Error(`unknown contender ${id}`);
  return spec;
}
