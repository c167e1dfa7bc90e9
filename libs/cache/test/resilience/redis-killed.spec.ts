import { Injectable } from '@nestjs/common';
import { Cacheable } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { recordBreakerLogs } from '../support/breaker-log';
import { firstHitAfter, startLoad, summarise } from '../support/load-generator';
import { sleep, uniqueNamespace } from '../support/redis';
import { RedisProcess } from '../support/redis-process';

/**
 * kill -9 of the redis-server under 20 concurrent callers of a @Cacheable method, then a restart on the same port.
 * The sockets close at once, so commands fail fast (no offline queue); the breaker opens after 5 failures and the
 * callers are served by the loader alone until Redis answers again.
 */

const LOADER_MS = 5;

@Injectable()
class Catalogue {
  loads = 0;

  @Cacheable({ key: 'item:{0}' })
  async item(id: string) {
    this.loads++;
    const loadedAt = performance.now();
    await sleep(LOADER_MS);
    return { id, loadedAt };
  }
}

describe('resilience: redis-server killed (kill -9) under load, then restarted on the same port', () => {
  let redis: RedisProcess;
  let fixture: CacheApp;
  let catalogue: Catalogue;
  let logs: ReturnType<typeof recordBreakerLogs>;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    logs = recordBreakerLogs();
    fixture = await createCacheApp({ cache: { redis: redis.url, namespace: uniqueNamespace('killed') }, providers: [Catalogue] });
    catalogue = fixture.get(Catalogue);
  });
  afterAll(async () => {
    logs?.restore();
    await fixture?.close();
    await redis?.stop();
  });

  it('no caller sees an error, latency stays bounded, the outage is logged once each way, caching resumes', async () => {
    logs.clear();
    // Each caller has keys of its own, so a call that did not load was served from the cache (not from a joined load).
    const load = startLoad(20, async (caller, iteration) => {
      const started = performance.now();
      const value = await catalogue.item(`${caller}-${iteration % 3}`);
      return value.loadedAt >= started;
    });
    await sleep(1_000);
    const killingAt = performance.now();
    await redis.kill();
    // The client may see its socket close (and the breaker open) before the exit event reaches this process.
    const killedAt = performance.now();
    await sleep(3_000);
    const restartingAt = performance.now();
    await redis.restart();
    const answeringAt = performance.now();
    // Wait for hits again (bounded), then keep the load on a little longer to see that they stay.
    while (!firstHitAfter(load.samples, answeringAt) && performance.now() - answeringAt < 5_000) await sleep(50);
    await sleep(500);
    await load.stop();

    const before = summarise(load.samples, { to: killedAt });
    const outage = summarise(load.samples, { from: killedAt, to: restartingAt });
    const openedAt = logs.opened()[0]?.at ?? Infinity;
    const breakerOpen = summarise(load.samples, { from: openedAt, to: restartingAt });
    const firstHit = firstHitAfter(load.samples, answeringAt);
    const resumedAfterMs = firstHit ? Math.round(firstHit.at - answeringAt) : Infinity;
    const after = summarise(load.samples, { from: firstHit?.at ?? Infinity });
    // Measured numbers, quoted in docs/resilience.md.
    console.log(
      JSON.stringify({ scenario: 'kill -9', before, outage, breakerOpen, breakerOpenedAfterMs: Math.round(openedAt - killingAt), resumedAfterMs, after }),
    );

    expect(load.samples.filter((sample) => sample.error !== undefined)).toEqual([]);
    expect(before.hits).toBeGreaterThan(0);
    expect(outage.calls).toBeGreaterThan(100);
    expect(outage.hits).toBe(0);
    expect(outage.p99).toBeLessThanOrEqual(150 + LOADER_MS);
    expect(breakerOpen.p50).toBeLessThanOrEqual(LOADER_MS + 20);
    expect(logs.opened()).toHaveLength(1);
    expect(logs.opened()[0].at).toBeGreaterThanOrEqual(killingAt);
    expect(logs.opened()[0].at - killedAt).toBeLessThan(100);
    expect(logs.recovered()).toHaveLength(1);
    expect(logs.recovered()[0].at).toBeGreaterThanOrEqual(answeringAt);
    expect(resumedAfterMs).toBeLessThanOrEqual(2_500);
    expect(after.hits / after.calls).toBeGreaterThan(0.5);
  }, 20_000);
});
