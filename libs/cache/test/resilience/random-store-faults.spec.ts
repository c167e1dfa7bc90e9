import Redis from 'ioredis';
import { type CacheStore, CacheService, RedisStore } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { ChaosStore } from '../support/chaos-store';
import { recordBreakerLogs } from '../support/breaker-log';
import { sleep, uniqueNamespace } from '../support/redis';
import { RedisProcess } from '../support/redis-process';

/**
 * Random store faults under heavy concurrency: 30 % of store calls fail or answer late (up to 400 ms, beyond both
 * timeouts), while 500 getOrSet calls run at once. Every call must return the loader's value or the cached one for
 * its own key, never an error and never another key's value.
 */

const LOADER_MS = 5;
const FAULT_RATE = 0.3;

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with the seed it prints. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Wraps a store so that each call, with probability `rate`, either rejects at once or runs only after a random delay
 * of up to `maxDelayMs` (so the store guard has often given up by the time the command reaches Redis).
 */
function withRandomFaults(store: CacheStore, rate: number, random: () => number, maxDelayMs: number) {
  const injected = { enabled: true, failures: 0, delays: 0 };
  const faulty = new Proxy(store, {
    get(target, property, receiver) {
      const member = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        const roll = injected.enabled ? random() : 1;
        if (roll < rate / 2) {
          injected.failures++;
          throw new Error('chaos: random store failure');
        }
        if (roll < rate) {
          injected.delays++;
          await sleep(Math.floor(random() * maxDelayMs));
        }
        return member.apply(target, args);
      };
    },
  });
  return { faulty, injected };
}

describe('resilience: random store failures and delays on 30 % of calls (ChaosStore)', () => {
  let redis: RedisProcess;
  let client: Redis;
  let chaos: ChaosStore;
  let injected: { enabled: boolean; failures: number; delays: number };
  let fixture: CacheApp;
  let cache: CacheService;
  let logs: ReturnType<typeof recordBreakerLogs>;
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    await new Promise((resolve) => client.once('ready', resolve));
    const faults = withRandomFaults(new RedisStore(client), FAULT_RATE, seeded(seed), 400);
    injected = faults.injected;
    chaos = new ChaosStore(faults.faulty);
    logs = recordBreakerLogs();
    fixture = await createCacheApp({ cache: { store: chaos, namespace: uniqueNamespace('random-faults'), defaultPolicy: { ttl: '1m' } } });
    cache = fixture.cache;
  });
  afterAll(async () => {
    logs?.restore();
    await fixture?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('waves of 500 concurrent getOrSet calls: each returns its key\'s loaded or cached value, never an error', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    // Half of the keys start out cached with a value the loader never returns, to tell cached answers apart.
    injected.enabled = false;
    for (const key of keys.slice(0, 25)) await expect(cache.set(key, { key, source: 'seeded' })).resolves.toBe(true);
    injected.enabled = true;
    const loads: Record<string, number> = {};
    const outcomes = { loaded: 0, cached: 0, errors: [] as unknown[], wrong: [] as unknown[] };
    const latencies: number[] = [];

    // At least 4 waves, and for at least 3 s, so the breaker goes through several cool-downs and probes; longer (up to
    // 20 s) until both kinds of fault have been injected: a batched read failing for 8 callers opens the breaker at
    // once, and while it is open only the probe reaches the store, so some seeds draw no delay in the first 3 s.
    const runStarted = performance.now();
    const bothFaultsInjected = () => injected.failures > 0 && injected.delays > 0;
    let wave = 0;
    for (; wave < 4 || performance.now() - runStarted < 3_000 || (!bothFaultsInjected() && performance.now() - runStarted < 20_000); wave++) {
      await Promise.all(
        Array.from({ length: 500 }, async (_, i) => {
          const key = keys[(i * 7 + wave) % keys.length];
          const started = performance.now();
          try {
            const value = await cache.getOrSet<{ key: string; source: string }>(key, async () => {
              loads[key] = (loads[key] ?? 0) + 1;
              await sleep(LOADER_MS);
              return { key, source: 'loader' };
            });
            latencies.push(performance.now() - started);
            if (value.key !== key) outcomes.wrong.push({ key, value });
            else if (value.source === 'loader') outcomes.loaded++;
            else if (value.source === 'seeded' && keys.indexOf(key) < 25) outcomes.cached++;
            else outcomes.wrong.push({ key, value });
          } catch (error) {
            outcomes.errors.push(error);
          }
        }),
      );
      await sleep(100);
    }

    latencies.sort((a, b) => a - b);
    const p = (q: number) => Math.round(latencies[Math.ceil(q * latencies.length) - 1]);
    console.log(
      JSON.stringify({
        scenario: 'random faults',
        seed,
        waves: wave,
        calls: latencies.length + outcomes.errors.length,
        loaded: outcomes.loaded,
        cached: outcomes.cached,
        loaderRuns: Object.values(loads).reduce((sum, n) => sum + n, 0),
        injected,
        storeCalls: chaos.calls,
        p50: p(0.5),
        p99: p(0.99),
        max: p(1),
        breakerOpened: logs.opened().length,
        breakerClosed: logs.recovered().length,
      }),
    );
    expect(outcomes.errors).toEqual([]);
    expect(outcomes.wrong).toEqual([]);
    expect(outcomes.loaded + outcomes.cached).toBe(wave * 500);
    expect(logs.opened().length).toBeLessThanOrEqual(Math.ceil((performance.now() - runStarted) / 1_000) + 1);
    expect(Math.abs(logs.opened().length - logs.recovered().length)).toBeLessThanOrEqual(1);
    expect(injected.failures).toBeGreaterThan(0);
    expect(injected.delays).toBeGreaterThan(0);
  }, 30_000);
});

