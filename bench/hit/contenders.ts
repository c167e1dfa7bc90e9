import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Redis from 'ioredis';
import { Registry } from 'prom-client';
import { Cacheable, CacheEngine, CacheMetricsModule, CacheModule } from '@app/cache';
import { contender as stampedeContender } from '../stampede/contenders';
import { peerImport, peerRequire, peerVersion } from '../support/peers';
import { payload } from './payload';

/**
 * The hit-path contenders: each is opened against the same Redis under its own prefix and offers `get(id)`, which
 * returns the cached ~1 KB value of item `id` (loading it once on the first call, which the benchmark makes before
 * it measures). Every measured call is a cache hit.
 */
export interface HitClient {
  get(id: number): Promise<unknown>;
  close(): Promise<void>;
  /** Entries held in process (ours with L1), for the memory measurement. */
  l1Size?(): number;
  /** Throws unless the client's own bookkeeping saw the calls (ours with metrics: the hits reached the registry). */
  selfCheck?(): Promise<void>;
}

export interface HitContenderSpec {
  readonly id: HitContenderId;
  readonly label: string;
  readonly side: 'floor' | 'ours' | 'peer';
  /** For a variant of ours with metrics: the same variant without them (its overhead is reported against it). */
  readonly baseline?: HitContenderId;
  version(): string;
  open(context: { redisUrl: string; prefix: string }): Promise<HitClient>;
}

export type HitContenderId = 'raw' | 'ours-l2' | 'ours-l2-immutable' | 'ours-l1' | 'ours-l2-metrics' | 'ours-l1-metrics' | 'cache-manager' | 'bentocache-l2' | 'bentocache-l1-bus' | 'cacheable';

const TTL_MS = 10 * 60_000;

/** The floor: one GET and one JSON.parse per call, on a plain ioredis client (no auto-pipelining: its defaults). */
const raw: HitContenderSpec = {
  id: 'raw',
  label: 'raw ioredis GET + JSON.parse',
  side: 'floor',
  version: () => 'ioredis (root)',
  async open({ redisUrl, prefix }) {
    const redis = new Redis(redisUrl);
    return {
      async get(id) {
        const key = `${prefix}:item:${id}`;
        const cached = await redis.get(key);
        if (cached !== null) return JSON.parse(cached);
        const value = payload(id);
        await redis.set(key, JSON.stringify(value), 'PX', TTL_MS);
        return value;
      },
      close: async () => void (await redis.quit()),
    };
  },
};

/**
 * Ours: a @Cacheable method of a provider, in a Nest application context; `policy` sets the policy's `l1` and
 * `immutable` (hits share one frozen value instead of a copy each). With `metrics`,
 * CacheMetricsModule is imported too (Prometheus on a fresh prom-client Registry, the other options at their defaults:
 * OpenTelemetry on, a no-op without an SDK), as an app that exports metrics would run it.
 */
function ours(id: HitContenderId, label: string, policy: { l1: boolean; immutable?: boolean }, metrics?: { baseline: HitContenderId }): HitContenderSpec {
  const { l1, immutable = false } = policy;
  return {
    id,
    label,
    side: 'ours',
    baseline: metrics?.baseline,
    version: () => (metrics ? `@app/cache (this repo), prom-client ${require('prom-client/package.json').version}` : '@app/cache (this repo)'),
    async open({ redisUrl, prefix }) {
      const registry = metrics ? new Registry() : undefined;
      @Injectable()
      class Items {
        @Cacheable({ key: 'item:{0}', policy: 'items' })
        async find(itemId: number) {
          return payload(itemId);
        }
      }
      @Module({
        imports: [
          CacheModule.forRoot({
            // CacheMetricsModule needs a global CacheModule; being global changes nothing on the call path.
            isGlobal: metrics !== undefined,
            redis: redisUrl,
            namespace: prefix,
            policies: { items: { ttl: TTL_MS, earlyRefreshBeta: 0, l1, immutable } },
            // Room for the memory measurement's 100k entries (the default bound is 10,000 entries, 64 MiB).
            l1: { maxEntries: 200_000, maxBytes: 1024 * 2 ** 20 },
          }),
          ...(registry ? [CacheMetricsModule.forRoot({ registry, prometheus: true })] : []),
        ],
        providers: [Items],
      })
      class HitBenchModule {}
      const app = await NestFactory.createApplicationContext(HitBenchModule, { logger: false });
      const items = app.get(Items);
      const engine = app.get(CacheEngine);
      const selfCheck = async () => {
        if (!registry) return;
        const text = await registry.metrics();
        const tier = l1 ? 'l1' : 'l2';
        const line = text.split('\n').find((candidate) => candidate.startsWith('nest_cache_hits_total{') && candidate.includes(`tier="${tier}"`));
        if (!line || !(Number(line.split(' ').pop()) > 0)) throw new Error(`${id}: no ${tier} hit counted in the registry (${line ?? 'no such series'})`);
      };
      return { get: (itemId) => items.find(itemId), close: () => app.close(), l1Size: () => engine.l1Size, selfCheck };
    },
  };
}

/** Adapts a stampede contender (getOrSet with the loader) to the hit interface. */
function fromStampede(id: HitContenderId, stampedeId: 'cache-manager' | 'bentocache', label: string): HitContenderSpec {
  const spec = stampedeContender(stampedeId);
  return {
    id,
    label,
    side: 'peer',
    version: () => spec.version(),
    async open({ redisUrl, prefix }) {
      const opened = await spec.open({ redisUrl, prefix, ttlMs: TTL_MS });
      return { get: (itemId) => opened.getOrSet(`item:${itemId}`, async () => payload(itemId)), close: () => opened.close() };
    },
  };
}

/** bentocache with its memory tier, Redis and the Redis bus (its recommended multi-instance set-up). */
const bentocacheL1Bus: HitContenderSpec = {
  id: 'bentocache-l1-bus',
  label: 'bentocache getOrSet (L1 + L2 + bus)',
  side: 'peer',
  version: () => `bentocache ${peerVersion('bentocache')}, ioredis ${peerVersion('ioredis')}`,
  async open({ redisUrl, prefix }) {
    const { BentoCache, bentostore } = await peerImport('bentocache');
    const { redisDriver, redisBusDriver } = await peerImport('bentocache/drivers/redis');
    const { memoryDriver } = await peerImport('bentocache/drivers/memory');
    const url = new URL(redisUrl);
    const bento = new BentoCache({
      default: 'tiered',
      stores: {
        tiered: bentostore()
          .useL1Layer(memoryDriver({ maxSize: '200mb' }))
          .useL2Layer(redisDriver({ connection: redisUrl, prefix }))
          .useBus(redisBusDriver({ connection: { host: url.hostname, port: Number(url.port || 6379) } })),
      },
    });
    return {
      get: (itemId) => bento.getOrSet({ key: `item:${itemId}`, ttl: TTL_MS, factory: async () => payload(itemId) }),
      close: () => bento.disconnect(),
    };
  },
};

/** cacheable (the cache-manager authors' layered cache) with Keyv Redis as its only store. */
const cacheable: HitContenderSpec = {
  id: 'cacheable',
  label: 'cacheable getOrSet (Keyv Redis)',
  side: 'peer',
  version: () => `cacheable ${peerVersion('cacheable')}, @keyv/redis ${peerVersion('@keyv/redis')}`,
  async open({ redisUrl, prefix }) {
    const { Cacheable: CacheableClass } = peerRequire('cacheable');
    const { Keyv } = peerRequire('keyv');
    const KeyvRedis = peerRequire('@keyv/redis').default;
    const store = new Keyv({ store: new KeyvRedis(redisUrl), namespace: prefix });
    const cache = new CacheableClass({ primary: store, ttl: TTL_MS });
    return {
      get: (itemId) => cache.getOrSet(`item:${itemId}`, async () => payload(itemId)),
      close: async () => {
        await cache.disconnect?.();
        await store.disconnect?.();
      },
    };
  },
};

export const HIT_CONTENDERS: readonly HitContenderSpec[] = [
  raw,
  ours('ours-l2', 'ours @Cacheable (Redis only)', { l1: false }),
  ours('ours-l2-metrics', 'ours @Cacheable (Redis only) + metrics', { l1: false }, { baseline: 'ours-l2' }),
  ours('ours-l2-immutable', 'ours @Cacheable (Redis only, immutable)', { l1: false, immutable: true }),
  ours('ours-l1', 'ours @Cacheable (l1: true)', { l1: true }),
  ours('ours-l1-metrics', 'ours @Cacheable (l1: true) + metrics', { l1: true }, { baseline: 'ours-l1' }),
  fromStampede('cache-manager', 'cache-manager', '@nestjs/cache-manager wrap (Keyv Redis)'),
  fromStampede('bentocache-l2', 'bentocache', 'bentocache getOrSet (L2 only)'),
  bentocacheL1Bus,
  cacheable,
];

export function hitContender(id: HitContenderId): HitContenderSpec {
  const spec = HIT_CONTENDERS.find((candidate) => candidate.id === id);
  if (!spec) throw new Error(`unknown hit contender ${id}`);
  return spec;
}
