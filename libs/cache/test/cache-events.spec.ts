import { CacheEngine, type CacheEventMap, CacheEvents, type CacheEventType, type CacheModuleOptions } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, sleep, uniqueNamespace } from './support/redis';

/** The typed events a subscriber sees for a scripted sequence of hits, misses, stale serves and failures. */
describe('cache events', () => {
  const redis = rawRedis();
  const namespace = uniqueNamespace('events');
  const options: CacheModuleOptions = {
    redis: redisUrl(),
    namespace,
    policies: {
      plain: { ttl: '1m' },
      local: { ttl: '1m', l1: true },
      swr: { ttl: '150ms', jitter: 0, staleWhileRevalidate: '5s', grace: '5s', earlyRefreshBeta: 0 },
      small: { ttl: '1m', maxBytes: 64 },
    },
  };
  let app: CacheApp;
  let other: CacheApp;
  const seen: Array<{ type: CacheEventType; event: CacheEventMap[CacheEventType] }> = [];
  const record = (events: CacheEvents) => {
    const types: CacheEventType[] = ['hit', 'miss', 'stale', 'refresh', 'load', 'skipped', 'badEntry', 'invalidation'];
    for (const type of types) events.on(type, (event) => seen.push({ type, event }));
  };
  const types = () => seen.map(({ type }) => type);

  beforeAll(async () => {
    app = await createCacheApp({ cache: options });
    other = await createCacheApp({ cache: options });
    record(app.get(CacheEvents));
  });
  beforeEach(() => {
    seen.length = 0;
  });
  afterAll(async () => {
    await Promise.all([app?.close(), other?.close()]);
    await cleanNamespace(redis, namespace);
    redis.disconnect();
  });

  it('a miss loads once, then hits come from L2 or, for l1 policies, from L1', async () => {
    await app.cache.getOrSet('a', () => 1, { policy: 'plain' });
    await app.cache.getOrSet('a', () => 2, { policy: 'plain' });
    await app.cache.getOrSet('b', () => 1, { policy: 'local' });
    await app.cache.getOrSet('b', () => 2, { policy: 'local' });
    expect(types()).toEqual(['load', 'miss', 'hit', 'load', 'miss', 'hit']);
    expect(seen[2].event).toEqual({ policy: 'plain', key: `${namespace}:a`, tier: 'l2' });
    expect(seen[5].event).toEqual({ policy: 'local', key: `${namespace}:b`, tier: 'l1' });
  });

  it('a stale serve is reported with the one background refresh it starts', async () => {
    await app.cache.getOrSet('s', () => 'v1', { policy: 'swr' });
    await sleep(200);
    seen.length = 0;
    expect(await app.cache.getOrSet('s', () => 'v2', { policy: 'swr' })).toBe('v1');
    await sleep(50);
    expect(types()).toEqual(['refresh', 'stale', 'load']);
    expect(seen[0].event).toMatchObject({ policy: 'swr', reason: 'revalidate' });
  });

  it('reports values it cannot keep and entries it cannot read', async () => {
    await app.cache.getOrSet('big', () => 'x'.repeat(200), { policy: 'small' });
    expect(seen.find(({ type }) => type === 'skipped')?.event).toMatchObject({ policy: 'small', reason: 'too-big' });
    await redis.set(`${namespace}:corrupt`, 'not json at all');
    await app.cache.getOrSet('corrupt', () => 'fresh', { policy: 'plain' });
    expect(seen.find(({ type }) => type === 'badEntry')?.event).toEqual({ policy: 'plain', key: `${namespace}:corrupt` });
  });

  it('reports local invalidations, and remote ones from another instance', async () => {
    await app.cache.delete('a');
    await other.cache.delete('b');
    const deadline = Date.now() + 2_000;
    while (!seen.some(({ event }) => (event as CacheEventMap['invalidation']).origin === 'remote') && Date.now() < deadline) await sleep(10);
    expect(seen.filter(({ type }) => type === 'invalidation').map(({ event }) => event)).toEqual([
      { keys: [`${namespace}:a`], prefixes: [], origin: 'local' },
      { keys: [`${namespace}:b`], prefixes: [], origin: 'remote' },
    ]);
  });

  it('a throwing listener never breaks a cache call', async () => {
    const off = app.get(CacheEvents).on('miss', () => {
      throw new Error('listener bug');
    });
    await expect(app.cache.getOrSet('c', () => 'ok', { policy: 'plain' })).resolves.toBe('ok');
    off();
    expect(app.get(CacheEngine).breakerState).toBe('closed');
  });
});
