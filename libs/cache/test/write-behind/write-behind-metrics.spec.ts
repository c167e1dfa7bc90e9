import { CacheMetricsModule, type WriteBehindWrite } from '@app/cache';
import { Registry } from 'prom-client';
import { redisUrl, sleep } from '../support/redis';
import { drained, eventually, FakeDb, Posts, useWriteBehindApps } from './support/views';

/** The write-behind metrics, read from a prom-client registry while a real queue fills, drains and dead-letters. */
describe('write-behind metrics', () => {
  let registry: Registry;
  const suite = useWriteBehindApps('wb-metrics', ({ db, namespace, writeBehind }) => ({
    cache: {
      isGlobal: true,
      redis: redisUrl(),
      namespace,
      writeBehind: { handlers: { views: db.handler }, sampleInterval: '30ms', block: '100ms', leaderTtl: '1s', retryDelay: '30ms', ...writeBehind },
    },
    imports: [CacheMetricsModule.forRoot({ registry, openTelemetry: false })],
    providers: [Posts],
  }));
  const { redis, start } = suite;

  /** The value of one sample of a metric; undefined when that labelled series does not exist. */
  async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const { values } = await registry.getSingleMetric(name)!.get();
    return values.find((sample) => Object.entries(labels).every(([key, expected]) => String(sample.labels[key]) === expected))?.value;
  }

  beforeEach(() => {
    registry = new Registry();
  });

  it('reports the queue length, the entries in flight and the age of the oldest, then zero once drained', async () => {
    const db = new FakeDb();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let handedOver = 0;
    const held = async (writes: ReadonlyArray<WriteBehindWrite>) => {
      handedOver += writes.length;
      await released;
      await db.handler(writes);
    };
    const posts = (await start(db, { handlers: { views: held } })).get(Posts);

    for (const id of ['a', 'b', 'c']) await posts.setViews(id, 1);
    await eventually('the batch handed over', () => handedOver === 3);
    await sleep(250);
    await posts.setViews('d', 1); // queued behind the batch in flight: not delivered yet
    await eventually('a sample of the held queue', async () => (await value('nest_cache_write_behind_queue_length')) === 4);
    expect(await value('nest_cache_write_behind_pending')).toBe(3);
    expect(await value('nest_cache_write_behind_lag_seconds')).toBeGreaterThanOrEqual(0.25);
    expect(await value('nest_cache_write_behind_lag_seconds')).toBeLessThan(5);

    release();
    await drained(redis, suite.namespace);
    await eventually('a sample of the drained queue', async () => (await value('nest_cache_write_behind_queue_length')) === 0);
    expect(await value('nest_cache_write_behind_pending')).toBe(0);
    expect(await value('nest_cache_write_behind_lag_seconds')).toBe(0);
  });

  it('counts writes written through, by policy and reason', async () => {
    const db = new FakeDb();
    const posts = (await start(db, { flusher: false, maxLength: 1 })).get(Posts);
    await posts.setViews('a', 1); // queued
    await posts.setViews('b', 1); // the queue is full: written through
    await posts.setViews('c', 1);
    expect(await value('nest_cache_write_behind_fallbacks_total', { policy: 'default', reason: 'length' })).toBe(2);
    expect(await value('nest_cache_write_behind_fallbacks_total', { policy: 'default', reason: 'lag' })).toBe(0);
    expect(db.rows.size).toBe(2);
  });

  it('counts entries moved to the dead letters and reports how many wait there', async () => {
    const db = new FakeDb();
    const refusing = () => {
      throw new Error('refused');
    };
    const posts = (await start(db, { handlers: { views: refusing }, maxDeliveries: 2 })).get(Posts);
    await posts.setViews('a', 1);
    await posts.setViews('b', 1);
    await eventually('both dead-lettered', async () => (await value('nest_cache_write_behind_dead_lettered_total', { handler: 'views' })) === 2);
    await eventually('the dead letters sampled', async () => (await value('nest_cache_write_behind_dead_letters')) === 2);
    expect(await value('nest_cache_write_behind_queue_length')).toBe(0);
  });
});
