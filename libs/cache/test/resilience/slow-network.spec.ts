import { CacheEngine, CacheService } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { recordBreakerLogs } from '../support/breaker-log';
import { firstHitAfter, startGetOrSetCallers, summarise } from '../support/load-generator';
import { sleep, uniqueNamespace } from '../support/redis';
import { RedisProcess } from '../support/redis-process';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The network between the app and Redis misbehaves while Redis itself is fine: a TCP proxy (node:net) adds 300 ms
 * to every chunk (three times the read timeout), then resets every connection. Calls are answered by the loader
 * within bounded latency, and caching resumes once the network is healthy again.
 */

const LOADER_MS = 5;

describe('resilience: a slow and resetting network between the app and Redis (TCP proxy)', () => {
  let redis: RedisProcess;
  let proxy: TcpProxy;
  let fixture: CacheApp;
  let cache: CacheService;
  let engine: CacheEngine;
  let logs: ReturnType<typeof recordBreakerLogs>;

  const startGetOrSetLoad = () => startGetOrSetCallers(cache, LOADER_MS);

  beforeAll(async () => {
    redis = await RedisProcess.start();
    proxy = await TcpProxy.start(redis.port);
    logs = recordBreakerLogs();
    fixture = await createCacheApp({ cache: { redis: proxy.url, namespace: uniqueNamespace('slow-network') } });
    cache = fixture.cache;
    engine = fixture.get(CacheEngine);
  });
  afterEach(() => {
    proxy.setLatency(0);
  });
  afterAll(async () => {
    logs?.restore();
    await fixture?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it('300 ms per chunk: calls are served by the loader within bounded latency; hits resume once the latency goes', async () => {
    logs.clear();
    const load = startGetOrSetLoad();
    await sleep(1_000);
    const slowFrom = performance.now();
    proxy.setLatency(300);
    await sleep(3_000);
    proxy.setLatency(0);
    const healedAt = performance.now();
    while (!firstHitAfter(load.samples, healedAt) && performance.now() - healedAt < 5_000) await sleep(50);
    await sleep(500);
    await load.stop();

    const before = summarise(load.samples, { to: slowFrom });
    const slow = summarise(load.samples, { from: slowFrom, to: healedAt });
    const openedAt = logs.opened()[0]?.at ?? Infinity;
    const breakerOpen = summarise(load.samples, { from: openedAt, to: healedAt });
    const firstHit = firstHitAfter(load.samples, healedAt);
    const resumedAfterMs = firstHit ? Math.round(firstHit.at - healedAt) : Infinity;
    const after = summarise(load.samples, { from: firstHit?.at ?? Infinity });
    console.log(JSON.stringify({ scenario: 'proxy +300 ms', before, slow, breakerOpen, resumedAfterMs, after }));

    expect(load.samples.filter((sample) => sample.error !== undefined)).toEqual([]);
    expect(before.hits).toBeGreaterThan(0);
    expect(slow.calls).toBeGreaterThan(100);
    expect(slow.p99).toBeLessThanOrEqual(150 + LOADER_MS);
    expect(breakerOpen.p50).toBeLessThanOrEqual(LOADER_MS + 20);
    expect(logs.opened()).toHaveLength(1);
    expect(logs.recovered()).toHaveLength(1);
    expect(engine.breakerState).toBe('closed');
    expect(resumedAfterMs).toBeLessThanOrEqual(2_000);
    expect(after.hits / after.calls).toBeGreaterThan(0.5);
  }, 20_000);

  it('every connection reset at once: no caller sees an error, latency stays bounded, hits resume', async () => {
    logs.clear();
    const load = startGetOrSetLoad();
    await sleep(500);
    const acceptedBefore = proxy.accepted;
    const resetAt = performance.now();
    proxy.resetAll();
    while (!firstHitAfter(load.samples, resetAt + 50) && performance.now() - resetAt < 5_000) await sleep(50);
    const firstHit = firstHitAfter(load.samples, resetAt + 50);
    await sleep(500);
    await load.stop();

    const around = summarise(load.samples, { from: resetAt, to: firstHit?.at ?? Infinity });
    const resumedAfterMs = firstHit ? Math.round(firstHit.at - resetAt) : Infinity;
    const after = summarise(load.samples, { from: firstHit?.at ?? Infinity });
    console.log(JSON.stringify({ scenario: 'proxy reset', around, resumedAfterMs, after, reconnections: proxy.accepted - acceptedBefore }));

    expect(load.samples.filter((sample) => sample.error !== undefined)).toEqual([]);
    expect(proxy.accepted).toBeGreaterThan(acceptedBefore); // the app reconnected through the proxy
    expect(around.p99).toBeLessThanOrEqual(150 + LOADER_MS);
    expect(resumedAfterMs).toBeLessThanOrEqual(2_000);
    expect(after.hits / after.calls).toBeGreaterThan(0.5);
    // A reset may or may not open the breaker (commands fail fast while reconnecting); if it does, it says so once
    // each way.
    expect(logs.opened().length).toBeLessThanOrEqual(1);
    expect(logs.recovered()).toHaveLength(logs.opened().length);
  }, 15_000);
});
