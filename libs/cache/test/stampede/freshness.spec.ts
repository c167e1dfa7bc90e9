import { Controller, Get, Injectable, Param } from '@nestjs/common';
import type Redis from 'ioredis';
import {
  CACHE_OPTIONS,
  CACHE_STATUS_HEADER,
  Cacheable,
  CacheEngine,
  type CachePolicyOptions,
  type CacheResult,
  LoaderTimeoutError,
  type NormalizedCacheOptions,
} from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from '../support/cache-app';
import { readEnvelope, sleep, uniqueNamespace } from '../support/redis';

/**
 * Freshness against real Redis and real clocks: stale-while-revalidate, grace with fail-safe back-off, soft and
 * hard loader timeouts, XFetch early refresh and sliding TTL. Every policy has jitter 0 so expiry is predictable,
 * and XFetch off unless the test is about it.
 */
const namespace = uniqueNamespace('stampede-fresh');
const REFRESH_MS = 400;

const policies: Record<string, CachePolicyOptions> = {
  swr: { ttl: '300ms', jitter: 0, staleWhileRevalidate: '5s', earlyRefreshBeta: 0 },
  grace: { ttl: '300ms', jitter: 0, grace: '1500ms', failSafeBackoff: '500ms', earlyRefreshBeta: 0 },
  soft: { ttl: '400ms', jitter: 0, grace: '10s', softTimeout: '100ms', earlyRefreshBeta: 0 },
  hard: { ttl: '1m', jitter: 0, hardTimeout: '200ms', earlyRefreshBeta: 0 },
  xfetch: { ttl: '1s', jitter: 0, earlyRefreshBeta: 1 },
  noXfetch: { ttl: '1s', jitter: 0, earlyRefreshBeta: 0 },
  sliding: { ttl: '600ms', jitter: 0, sliding: true },
};

@Injectable()
class Reports {
  loads = 0;
  async build(id: string) {
    const version = ++this.loads;
    await sleep(REFRESH_MS);
    return { id, version };
  }
}

@Controller('reports')
class ReportsController {
  constructor(private readonly reports: Reports) {}

  @Get(':id')
  @Cacheable({ key: 'report:{0}', policy: 'swr' })
  report(@Param('id') id: string) {
    return this.reports.build(id);
  }
}

/** A loader that counts its calls and records when each started. */
interface CountingLoader<T> {
  (): Promise<T>;
  readonly calls: number;
  readonly startedAt: number[];
}

function countingLoader<T>(produce: (call: number) => Promise<T> | T): CountingLoader<T> {
  const startedAt: number[] = [];
  const load = async () => {
    startedAt.push(Date.now());
    return produce(startedAt.length);
  };
  return Object.defineProperties(load, {
    calls: { get: () => startedAt.length },
    startedAt: { value: startedAt },
  }) as CountingLoader<T>;
}

describe('freshness', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let engine: CacheEngine;
  let options: NormalizedCacheOptions;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: { policies },
      providers: [Reports],
      controllers: [ReportsController],
    }));
    engine = fixture.get(CacheEngine);
    options = fixture.get<NormalizedCacheOptions>(CACHE_OPTIONS);
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  /** One engine call, timed. */
  async function call<T>(key: string, policy: string, load: () => Promise<T>): Promise<CacheResult<T> & { ms: number }> {
    const started = performance.now();
    const result = await engine.getOrLoad(fixture.cache.keyOf(key), options.policies.resolve(policy), load);
    return { ...result, ms: performance.now() - started };
  }

  describe('stale-while-revalidate', () => {
    it('serves the old value at once (X-Cache: STALE) to 50 concurrent callers and refreshes exactly once', async () => {
      const reports = fixture.get(Reports);
      const first = await fixture.http().get('/reports/r1').expect(200);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.body).toEqual({ id: 'r1', version: 1 });
      await sleep(400); // past the 300 ms TTL, well within the 5 s window

      const started = performance.now();
      const responses = await Promise.all(Array.from({ length: 50 }, () => fixture.http().get('/reports/r1').expect(200)));
      const elapsed = performance.now() - started;
      for (const response of responses) {
        expect(response.headers[CACHE_STATUS_HEADER.toLowerCase()]).toBe('STALE');
        expect(response.body).toEqual({ id: 'r1', version: 1 });
      }
      // Nobody waited for the 400 ms refresh.
      expect(elapsed).toBeLessThan(REFRESH_MS);
      expect(reports.loads).toBe(2);

      // Once the refresh has landed (its 300 ms of freshness start then), the next request is a HIT on version 2.
      const landedBy = performance.now() + 2_000;
      while (((await readEnvelope(redis, `${namespace}:report:r1`))?.v as { version?: number } | undefined)?.version !== 2) {
        if (performance.now() > landedBy) throw new Error('the background refresh never landed');
        await sleep(10);
      }
      expect(reports.loads).toBe(2);
      const next = await fixture.http().get('/reports/r1').expect(200);
      expect(next.headers['x-cache']).toBe('HIT');
      expect(next.body).toEqual({ id: 'r1', version: 2 });
      expect(reports.loads).toBe(2);
    });
  });

  describe('grace and fail-safe', () => {
    it('serves the old value when the loader fails, backs off, retries, and fails beyond grace', async () => {
      const written = Date.now();
      await expect(call('g1', 'grace', async () => ({ version: 1 }))).resolves.toMatchObject({ status: 'MISS', value: { version: 1 } });
      await sleep(400); // stale, within the 1.5 s grace

      const failing = countingLoader(async () => {
        throw new Error('database down');
      });
      await expect(call('g1', 'grace', failing)).resolves.toMatchObject({ status: 'STALE', value: { version: 1 } });
      expect(failing.calls).toBe(1);

      // Within the 500 ms back-off the loader is left alone.
      for (let i = 0; i < 5; i++) {
        await expect(call('g1', 'grace', failing)).resolves.toMatchObject({ status: 'STALE', value: { version: 1 } });
      }
      expect(failing.calls).toBe(1);

      await sleep(600); // back-off over: the loader is tried again, and its failure is still covered by grace
      await expect(call('g1', 'grace', failing)).resolves.toMatchObject({ status: 'STALE', value: { version: 1 } });
      expect(failing.calls).toBe(2);

      // Beyond grace (300 ms fresh + 1.5 s) and the back-off: the loader's error reaches the caller.
      await sleep(Math.max(written + 300 + 1_500 + 200 - Date.now(), 600));
      await expect(call('g1', 'grace', failing)).rejects.toThrow('database down');
      expect(failing.calls).toBe(3);
    });
  });

  describe('loader timeouts', () => {
    it('soft timeout: returns the stale value after ~softTimeout; the load finishes in the background and is stored', async () => {
      await call('s1', 'soft', async () => ({ version: 1 }));
      await sleep(450); // stale, within grace

      const slow = countingLoader(async () => {
        await sleep(500);
        return { version: 2 };
      });
      const result = await call('s1', 'soft', slow);
      expect(result).toMatchObject({ status: 'STALE', value: { version: 1 } });
      expect(result.ms).toBeGreaterThanOrEqual(90);
      expect(result.ms).toBeLessThan(350);
      expect(slow.calls).toBe(1);

      await sleep(450); // the load lands ~400 ms after the soft timeout, fresh for 400 ms
      expect((await readEnvelope(redis, fixture.cache.keyOf('s1')))?.v).toEqual({ version: 2 });
      await expect(call('s1', 'soft', slow)).resolves.toMatchObject({ status: 'HIT', value: { version: 2 } });
      expect(slow.calls).toBe(1);
    });

    it('hard timeout: throws LoaderTimeoutError (CACHE_LOADER_TIMEOUT) after ~hardTimeout when there is no grace value', async () => {
      const started = performance.now();
      const error = await call('h1', 'hard', async () => {
        await sleep(1_000);
        return { version: 1 };
      }).catch((caught: unknown) => caught);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(LoaderTimeoutError);
      expect(error).toMatchObject({ code: 'CACHE_LOADER_TIMEOUT' });
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(600);
    });
  });

  describe('XFetch early refresh', () => {
    /** Reads `key` every 10 ms until 30 ms before it stops being fresh, or until `stop()` says so. */
    async function readUntilExpiry(key: string, policy: string, load: () => Promise<unknown>, stop: () => boolean) {
      const freshUntil = (await readEnvelope(redis, fixture.cache.keyOf(key)))!.f;
      const statuses = new Set<string>();
      let reads = 0;
      while (Date.now() < freshUntil - 30 && !stop()) {
        statuses.add((await call(key, policy, load)).status);
        reads++;
        await sleep(10);
      }
      return { freshUntil, statuses, reads };
    }

    const slowLoader = () =>
      countingLoader(async (n) => {
        await sleep(300);
        return { version: n };
      });

    it('with beta 1, a slow loader is re-run in the background before the entry expires, while reads stay HITs', async () => {
      const load = slowLoader();
      await call('x1', 'xfetch', load);
      expect((await readEnvelope(redis, fixture.cache.keyOf('x1')))!.l).toBeGreaterThanOrEqual(290);

      const { freshUntil, statuses, reads } = await readUntilExpiry('x1', 'xfetch', load, () => load.calls > 1);
      expect(reads).toBeGreaterThan(0);
      expect([...statuses]).toEqual(['HIT']);
      expect(load.calls).toBe(2);
      expect(load.startedAt[1]).toBeLessThan(freshUntil);

      await sleep(350); // the refresh lands: a new entry, fresh for another second
      const refreshed = (await readEnvelope(redis, fixture.cache.keyOf('x1')))!;
      expect(refreshed.v).toEqual({ version: 2 });
      expect(refreshed.f).toBeGreaterThan(freshUntil);
    });

    it('with beta 0, no read refreshes the entry before it expires', async () => {
      const load = slowLoader();
      await call('x0', 'noXfetch', load);
      const { statuses, reads } = await readUntilExpiry('x0', 'noXfetch', load, () => false);
      expect(reads).toBeGreaterThan(30);
      expect([...statuses]).toEqual(['HIT']);
      expect(load.calls).toBe(1);
    });
  });

  describe('sliding TTL', () => {
    it('a read pushes the TTL back; an entry read regularly outlives its TTL, an unread one expires', async () => {
      const load = countingLoader((n) => ({ version: n }));
      const other = countingLoader((n) => ({ version: n }));
      await call('read', 'sliding', load);
      await call('unread', 'sliding', other);
      const key = fixture.cache.keyOf('read');

      await sleep(300);
      const before = await redis.pttl(key);
      expect(before).toBeLessThanOrEqual(320);
      await expect(call('read', 'sliding', load)).resolves.toMatchObject({ status: 'HIT', value: { version: 1 } });
      const after = await redis.pttl(key);
      expect(after).toBeGreaterThan(500);
      expect(after).toBeLessThanOrEqual(600);

      // Read every 200 ms for well over two TTLs.
      for (let i = 0; i < 7; i++) {
        await sleep(200);
        await expect(call('read', 'sliding', load)).resolves.toMatchObject({ status: 'HIT', value: { version: 1 } });
      }
      expect(load.calls).toBe(1);
      await expect(redis.pttl(fixture.cache.keyOf('unread'))).resolves.toBe(-2);
      await expect(call('unread', 'sliding', other)).resolves.toMatchObject({ status: 'MISS', value: { version: 2 } });
    });
  });
});
