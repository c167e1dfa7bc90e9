import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { CacheEngine, CacheService, Cacheable, WriteThrough } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { recordBreakerLogs } from '../support/breaker-log';
import { firstHitAfter, startGetOrSetCallers, summarise } from '../support/load-generator';
import { monitorCommands, rawRedis, readEnvelope, sleep, uniqueNamespace } from '../support/redis';
import { RedisProcess } from '../support/redis-process';

/**
 * SIGSTOP of the redis-server under load: the worst kind of outage for a client, because nothing fails. The sockets
 * stay open and every command just waits, so only the store guard's timeouts (100 ms reads, 250 ms writes) bound
 * what a caller pays, until the breaker opens and the store is skipped. Then SIGCONT: Redis answers again on the
 * same connections, and whatever reached its socket meanwhile is executed late, which is what the write tests watch.
 */

const LOADER_MS = 5;
const namespace = uniqueNamespace('frozen');

interface Profile {
  id: string;
  version: string;
}

@Injectable()
class Profiles {
  readonly db = new Map<string, Profile>();
  loads = 0;

  @Cacheable({ key: 'profile:{0}' })
  async find(id: string) {
    this.loads++;
    return this.db.get(id) ?? null;
  }

  @WriteThrough({ key: 'profile:{0}' })
  async save(id: string, version: string) {
    const profile = { id, version };
    this.db.set(id, profile);
    return profile;
  }
}

describe('resilience: redis-server frozen (SIGSTOP) under load, then thawed (SIGCONT)', () => {
  let redis: RedisProcess;
  let fixture: CacheApp;
  let cache: CacheService;
  let engine: CacheEngine;
  let profiles: Profiles;
  let raw: Redis;
  let logs: ReturnType<typeof recordBreakerLogs>;

  const startGetOrSetLoad = () => startGetOrSetCallers(cache, LOADER_MS);

  const waitForBreaker = async (state: 'open' | 'closed', timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (engine.breakerState !== state && Date.now() < deadline) await sleep(20);
    return engine.breakerState;
  };

  beforeAll(async () => {
    redis = await RedisProcess.start();
    raw = rawRedis(redis.url);
    logs = recordBreakerLogs();
    fixture = await createCacheApp({ cache: { redis: redis.url, namespace }, providers: [Profiles] });
    cache = fixture.cache;
    engine = fixture.get(CacheEngine);
    profiles = fixture.get(Profiles);
  });
  afterEach(() => {
    redis.thaw(); // never leave a frozen server behind a failed assertion
  });
  afterAll(async () => {
    logs?.restore();
    await fixture?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  it('no caller sees an error, latency stays bounded by the timeouts, the outage is logged once each way, caching resumes', async () => {
    logs.clear();
    const load = startGetOrSetLoad();
    await sleep(1_000);
    const frozenAt = performance.now();
    redis.freeze();
    await sleep(3_000);
    redis.thaw();
    const thawedAt = performance.now();
    while (!firstHitAfter(load.samples, thawedAt) && performance.now() - thawedAt < 5_000) await sleep(50);
    await sleep(500);
    await load.stop();

    const before = summarise(load.samples, { to: frozenAt });
    const outage = summarise(load.samples, { from: frozenAt, to: thawedAt });
    const openedAt = logs.opened()[0]?.at ?? Infinity;
    const breakerOpen = summarise(load.samples, { from: openedAt, to: thawedAt });
    const firstHit = firstHitAfter(load.samples, thawedAt);
    const resumedAfterMs = firstHit ? Math.round(firstHit.at - thawedAt) : Infinity;
    const after = summarise(load.samples, { from: firstHit?.at ?? Infinity });
    console.log(
      JSON.stringify({ scenario: 'SIGSTOP', before, outage, breakerOpen, breakerOpenedAfterMs: Math.round(openedAt - frozenAt), resumedAfterMs, after }),
    );

    expect(load.samples.filter((sample) => sample.error !== undefined)).toEqual([]);
    expect(before.hits).toBeGreaterThan(0);
    expect(outage.calls).toBeGreaterThan(100);
    expect(outage.p99).toBeLessThanOrEqual(150 + LOADER_MS);
    // A read that times out sends the caller to the loader with no lock taken and no write made: one read timeout
    // (100 ms) plus the loader, plus noise; before, a lock or fill write waited out its own 250 ms timeout too.
    expect(outage.max).toBeLessThan(100 + LOADER_MS + 150);
    expect(breakerOpen.p50).toBeLessThanOrEqual(LOADER_MS + 20);
    expect(logs.opened()).toHaveLength(1);
    expect(logs.opened()[0].at - frozenAt).toBeLessThan(500);
    expect(logs.recovered()).toHaveLength(1);
    expect(logs.recovered()[0].at).toBeGreaterThanOrEqual(thawedAt);
    expect(resumedAfterMs).toBeLessThanOrEqual(2_000);
    expect(after.hits / after.calls).toBeGreaterThan(0.5);
  }, 20_000);

  describe('a write-through during the freeze is not applied over a later one', () => {
    const key = (id: string) => `${namespace}:profile:${id}`;
    const version = async (id: string) => ((await readEnvelope(raw, key(id)))?.v as Profile | undefined)?.version;
    /** SETs of the key as Redis executed them, in order, with the version each wrote. */
    const setsOf = (commands: string[][]) =>
      commands.filter(([name]) => name.toLowerCase() === 'set').map(([, , value]) => (JSON.parse(value).v as Profile).version);

    it('quiet app (breaker stays closed): v1 times out, v2 after SIGCONT wins, and v1 never comes back', async () => {
      await expect(waitForBreaker('closed', 3_000)).resolves.toBe('closed');
      await profiles.save('quiet', 'v0');
      const monitor = await monitorCommands(redis.url, key('quiet'));
      redis.freeze();
      const started = performance.now();
      await expect(profiles.save('quiet', 'v1')).resolves.toEqual({ id: 'quiet', version: 'v1' });
      const writeMs = performance.now() - started;
      redis.thaw();
      await expect(profiles.save('quiet', 'v2')).resolves.toEqual({ id: 'quiet', version: 'v2' });
      expect(await version('quiet')).toBe('v2');
      await sleep(1_500);
      expect(await version('quiet')).toBe('v2');
      const loads = profiles.loads;
      await expect(profiles.find('quiet')).resolves.toEqual({ id: 'quiet', version: 'v2' });
      expect(profiles.loads).toBe(loads);
      await monitor.stop();
      console.log(JSON.stringify({ scenario: 'write-through while frozen, quiet', writeMs: Math.round(writeMs), executed: monitor.commands.map(([name]) => name) }));
      // The timed-out SET of v1 was in the socket and ran at SIGCONT, but before the write-through's own clean-up
      // (UNLINK) and before v2: order on one connection is kept, so v1 cannot land after v2.
      expect(writeMs).toBeLessThan(250 + 250 + 100);
      expect(setsOf(monitor.commands).at(-1)).toBe('v2');
    });

    it('under load (breaker opens while v1 is in flight): v2 written once Redis answers wins, and v1 never comes back', async () => {
      await expect(waitForBreaker('closed', 3_000)).resolves.toBe('closed');
      await profiles.save('busy', 'v0');
      const monitor = await monitorCommands(redis.url, key('busy'));
      const load = startGetOrSetLoad();
      await sleep(300);
      redis.freeze();
      // v1's SET reaches the frozen socket before the breaker opens; its clean-up UNLINK is then skipped by the breaker.
      await expect(profiles.save('busy', 'v1')).resolves.toEqual({ id: 'busy', version: 'v1' });
      await expect(waitForBreaker('open', 1_000)).resolves.toBe('open');
      await sleep(2_000);
      redis.thaw();
      await expect(waitForBreaker('closed', 3_000)).resolves.toBe('closed');
      const landedAfterThaw = await version('busy');
      await expect(profiles.save('busy', 'v2')).resolves.toEqual({ id: 'busy', version: 'v2' });
      expect(await version('busy')).toBe('v2');
      await sleep(1_500);
      await load.stop();
      expect(await version('busy')).toBe('v2');
      await expect(profiles.find('busy')).resolves.toEqual({ id: 'busy', version: 'v2' });
      await monitor.stop();
      console.log(JSON.stringify({ scenario: 'write-through while frozen, busy', landedAfterThaw, sets: setsOf(monitor.commands) }));
      expect(load.samples.filter((sample) => sample.error !== undefined)).toEqual([]);
      expect(setsOf(monitor.commands).at(-1)).toBe('v2');
    }, 15_000);
  });
});
