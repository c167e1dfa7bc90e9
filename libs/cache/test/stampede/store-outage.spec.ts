import { freePort } from '../../../../test/support/redis-server';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { sleep, uniqueNamespace } from '../support/redis';

/**
 * The lock lives in the store: when the store is unreachable there is no lock to be had, and a locked policy must
 * fall back to its loader at once instead of waiting out the lock wait.
 */
const namespace = uniqueNamespace('stampede-outage');
const LOADER_MS = 30;

/** Closes an app; resolves to whether close() finished within `ms`. */
async function closeWithin(app: CacheApp, ms: number): Promise<boolean> {
  return Promise.race([app.close().then(() => true), sleep(ms).then(() => false)]);
}

async function startUnreachable(): Promise<CacheApp> {
  const port = await freePort(); // nothing listens there
  return createCacheApp({
    cache: { redis: `redis://127.0.0.1:${port}`, namespace, policies: { locked: { ttl: '1m', lock: { ttl: '500ms', wait: '5s' } } } },
  });
}

describe('lock policy while Redis is unreachable', () => {
  let fixture: CacheApp;

  beforeAll(async () => {
    fixture = await startUnreachable();
  }, 15_000);
  afterAll(async () => {
    await fixture?.close();
  });

  it('concurrent and repeated calls return loader values quickly, far below the 5 s lock wait', async () => {
    let loads = 0;
    const loader = async () => {
      loads++;
      await sleep(LOADER_MS);
      return { n: loads };
    };

    const started = performance.now();
    const burst = await Promise.all(Array.from({ length: 20 }, () => fixture.cache.getOrSet('k', loader, { policy: 'locked' })));
    expect(performance.now() - started).toBeLessThan(LOADER_MS + 400);
    // The in-process single-flight still holds without the store.
    expect(loads).toBe(1);
    for (const value of burst) expect(value).toEqual({ n: 1 });

    for (let i = 2; i <= 5; i++) {
      const callStarted = performance.now();
      await expect(fixture.cache.getOrSet('k', loader, { policy: 'locked' })).resolves.toEqual({ n: i });
      expect(performance.now() - callStarted).toBeLessThan(LOADER_MS + 400);
    }
    expect(loads).toBe(5);
  });

  // Regression: RedisBus.close() used to QUIT a subscriber that was not connected; QUIT waited in its offline
  // queue forever and app.close() never resolved during an outage (fixed in 4e07a45).
  it('app.close() finishes promptly while Redis is unreachable', async () => {
    const other = await startUnreachable();
    await expect(closeWithin(other, 2_000)).resolves.toBe(true);
  }, 15_000);
});
