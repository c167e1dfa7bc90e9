import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Redis from 'ioredis';
import { CacheModule, type CachePolicyOptions, CacheService } from '@app/cache';
import { peerImport, peerRequire, peerVersion } from '../support/peers';
import { sleep } from '../support/stats';

/**
 * The caching strategies the stampede benchmark puts side by side. Each one is opened against the same Redis and
 * offers one call, `getOrSet(key, loader)`, with the TTL fixed at open time. Keys are relative: each contender puts
 * them under its own unique prefix (or namespace), so every key a run writes contains the run's id.
 */

/** An opened contender. */
export interface Contender {
  /** `key` is relative to the contender's prefix. */
  getOrSet<T>(key: string, loader: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenContext {
  readonly redisUrl: string;
  /** Unique per run and contender; every key the contender writes starts with it (or contains it). */
  readonly prefix: string;
  readonly ttlMs: number;
}

export interface ContenderSpec {
  readonly id: ContenderId;
  readonly label: string;
  /** `ours` or `peer` (the naive and seed strategies count as peers: they are what we replace). */
  readonly side: 'ours' | 'peer';
  /** Library and version, for the report. */
  version(): string;
  open(context: OpenContext): Promise<Contender>;
}

export type ContenderId = 'naive' | 'seed-lock' | 'cache-manager' | 'bentocache' | 'ours' | 'ours-swr' | 'ours-xfetch' | 'ours-xfetch-nolock';

const SEED_LOCK_SLEEP_MS = 50;

/** Cache-aside with no protection at all: GET, on a miss run the loader and SET. */
const naive: ContenderSpec = {
  id: 'naive',
  label: 'naive cache-aside',
  side: 'peer',
  version: () => `ioredis ${rootVersion('ioredis')}`,
  async open({ redisUrl, prefix, ttlMs }) {
    const redis = new Redis(redisUrl);
    return {
      async getOrSet<T>(relativeKey: string, loader: () => Promise<T>) {
        const key = `${prefix}:${relativeKey}`;
        const cached = await redis.get(key);
        if (cached !== null) return JSON.parse(cached) as T;
        const value = await loader();
        await redis.set(key, JSON.stringify(value), 'PX', ttlMs);
        return value;
      },
      close: async () => void (await redis.quit()),
    };
  },
};

/**
 * The seed's lock (shared/seeds/000): SET NX EX 10 as a mutex; the loser sleeps 50 ms, reads once more, and on a
 * miss runs the loader itself.
 */
const seedLock: ContenderSpec = {
  id: 'seed-lock',
  label: 'SET NX + sleep(50ms) lock',
  side: 'peer',
  version: () => `ioredis ${rootVersion('ioredis')}`,
  async open({ redisUrl, prefix, ttlMs }) {
    const redis = new Redis(redisUrl);
    return {
      async getOrSet<T>(relativeKey: string, loader: () => Promise<T>) {
        const key = `${prefix}:${relativeKey}`;
        const cached = await redis.get(key);
        if (cached !== null) return JSON.parse(cached) as T;
        const lockKey = `lock:${key}`;
        if ((await redis.set(lockKey, '1', 'EX', 10, 'NX')) === 'OK') {
          try {
            const value = await loader();
            await redis.set(key, JSON.stringify(value), 'PX', ttlMs);
            return value;
          } finally {
            await redis.del(lockKey);
          }
        }
        await sleep(SEED_LOCK_SLEEP_MS);
        const after = await redis.get(key);
        return after !== null ? (JSON.parse(after) as T) : loader();
      },
      close: async () => void (await redis.quit()),
    };
  },
};

/** @nestjs/cache-manager's CACHE_MANAGER (cache-manager 7 over Keyv + @keyv/redis), `wrap`. */
const cacheManager: ContenderSpec = {
  id: 'cache-manager',
  label: '@nestjs/cache-manager wrap',
  side: 'peer',
  version: () => `@nestjs/cache-manager ${peerVersion('@nestjs/cache-manager')}, cache-manager ${peerVersion('cache-manager')}, @keyv/redis ${peerVersion('@keyv/redis')}`,
  async open({ redisUrl, prefix, ttlMs }) {
    // Nest, the module and Keyv all come from bench/peers, so they are the versions a user of that stack would have.
    const common = peerRequire('@nestjs/common');
    const core = peerRequire('@nestjs/core');
    const { CacheModule: PeerCacheModule, CACHE_MANAGER } = peerRequire('@nestjs/cache-manager');
    const { Keyv } = peerRequire('keyv');
    const KeyvRedis = peerRequire('@keyv/redis').default;
    const store = new Keyv({ store: new KeyvRedis(redisUrl), namespace: prefix });
    class PeerBenchModule {}
    common.Module({ imports: [PeerCacheModule.register({ stores: [store], ttl: ttlMs })] })(PeerBenchModule);
    const app = await core.NestFactory.createApplicationContext(PeerBenchModule, { logger: false });
    const cache = app.get(CACHE_MANAGER) as { wrap<T>(key: string, fn: () => Promise<T>, ttl: number): Promise<T> };
    return {
      getOrSet: (key, loader) => cache.wrap(`${prefix}:${key}`, loader, ttlMs),
      close: () => app.close(),
    };
  },
};

/** bentocache `getOrSet` with only the Redis driver (L2, no memory tier, no bus). */
const bentocache: ContenderSpec = {
  id: 'bentocache',
  label: 'bentocache getOrSet (L2 only)',
  side: 'peer',
  version: () => `bentocache ${peerVersion('bentocache')}, ioredis ${peerVersion('ioredis')}`,
  async open({ redisUrl, prefix, ttlMs }) {
    const { BentoCache, bentostore } = await peerImport('bentocache');
    const { redisDriver } = await peerImport('bentocache/drivers/redis');
    const bento = new BentoCache({
      default: 'redis',
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: redisUrl, prefix })) },
    });
    return {
      getOrSet: (key, loader) => bento.getOrSet({ key: `${prefix}:${key}`, ttl: ttlMs, factory: loader }),
      close: () => bento.disconnect(),
    };
  },
};

/** Ours: CacheService.getOrSet of CacheModule.forRoot({ redis: url }), started as a Nest application context. */
function ours(id: ContenderId, label: string, policy: CachePolicyOptions): ContenderSpec {
  return {
    id,
    label,
    side: 'ours',
    version: () => '@app/cache (this repo)',
    async open({ redisUrl, prefix, ttlMs }) {
      class OursBenchModule {}
      Module({ imports: [CacheModule.forRoot({ redis: redisUrl, namespace: prefix, defaultPolicy: { ...policy, ttl: ttlMs } })] })(OursBenchModule);
      const app = await NestFactory.createApplicationContext(OursBenchModule, { logger: false });
      const cache = app.get(CacheService);
      return {
        getOrSet: (key, loader) => cache.getOrSet(key, loader),
        close: () => app.close(),
      };
    },
  };
}

export const CONTENDERS: readonly ContenderSpec[] = [
  naive,
  seedLock,
  cacheManager,
  bentocache,
  // Plain: no early refresh (XFetch is on by default), no stale-while-revalidate; the lock and single-flight only.
  ours('ours', 'ours (lock + single-flight)', { earlyRefreshBeta: 0 }),
  ours('ours-swr', "ours + staleWhileRevalidate '2s'", { earlyRefreshBeta: 0, staleWhileRevalidate: '2s' }),
  ours('ours-xfetch', 'ours + XFetch β=1 (the default)', { earlyRefreshBeta: 1 }),
  // XFetch without the distributed lock: shows whether early refresh itself works when the lock is out of the way.
  ours('ours-xfetch-nolock', 'ours + XFetch β=1, lock off', { earlyRefreshBeta: 1, lock: false }),
];

export function contender(id: ContenderId): ContenderSpec {
  const spec = CONTENDERS.find((candidate) => candidate.id === id);
  if (!spec) throw new Error(`unknown contender ${id}`);
  return spec;
}

function rootVersion(name: string): string {
  const manifest = readFileSync(join(__dirname, '..', '..', 'node_modules', name, 'package.json'), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}
