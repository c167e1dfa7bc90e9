import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Cacheable, WriteBehind, type WriteBehindOptions, type WriteBehindWrite, writeBehindKeys } from '@app/cache';
import { type CacheApp, type CacheAppSpec, createCacheApp } from '../../support/cache-app';
import { cleanNamespace, rawRedis, sleep, uniqueNamespace } from '../../support/redis';

/** A database as a Map, and every batch its handler was given. */
export class FakeDb {
  readonly rows = new Map<string, { value: unknown; version: bigint }>();
  readonly batches: Array<ReadonlyArray<WriteBehindWrite>> = [];
  delayMs = 0;
  /** true: apply only newer versions (the documented handler); false: apply blindly (to observe order). */
  checkVersions = true;

  handler = async (writes: ReadonlyArray<WriteBehindWrite>) => {
    this.batches.push(writes);
    if (this.delayMs) await sleep(this.delayMs);
    for (const write of writes) {
      const row = this.rows.get(write.key);
      if (this.checkVersions && row && row.version >= write.version) continue;
      this.rows.set(write.key, { value: write.value, version: write.version });
    }
  };
}

/** Post view counts: read through the cache from {@link Posts.db}, written behind through the handler `views`. */
@Injectable()
export class Posts {
  static db: FakeDb;
  loads = 0;

  @Cacheable({ key: 'views:{0}' })
  async views(id: string) {
    this.loads++;
    return Posts.db.rows.get(`views:${id}`)?.value ?? 0;
  }

  @WriteBehind({ key: 'views:{0}', flush: 'views' })
  async setViews(_id: string, views: number) {
    return views;
  }
}

/** Resolves once `condition()` holds; rejects naming `what` after `timeoutMs`. */
export async function eventually(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

/** Resolves once every queued write of `namespace` reached its handler and was acknowledged. */
export async function drained(redis: Redis, namespace: string, timeoutMs = 10_000): Promise<void> {
  const queue = writeBehindKeys(namespace);
  await eventually('write-behind queue drained', async () => (await redis.xlen(queue.stream)) === 0 && (await redis.hlen(queue.pending)) === 0, timeoutMs);
}

/** Deletes the write-behind keys of `namespace`. */
export async function deleteQueue(redis: Redis, namespace: string): Promise<void> {
  const queue = writeBehindKeys(namespace);
  await redis.del(queue.stream, queue.pending, queue.leader, queue.deadLetters);
}

/** One write-behind spec's Redis client, current namespace and app starter (see {@link useWriteBehindApps}). */
export interface WriteBehindApps {
  readonly redis: Redis;
  /** A fresh namespace for each test. */
  readonly namespace: string;
  /** Starts an app with {@link Posts} reading `db`, the spec's module options and these write-behind options. */
  start(db: FakeDb, writeBehind?: WriteBehindOptions): Promise<CacheApp>;
  /** Closes an app the test started itself along with the others, after the test. */
  keep(app: CacheApp): CacheApp;
}

/**
 * The lifecycle every write-behind spec shares: each test gets a fresh namespace, and afterwards the apps it started
 * are closed and its queue and cached keys deleted. `appSpec` builds the spec's app from the test's namespace.
 */
export function useWriteBehindApps(
  namespacePrefix: string,
  appSpec: (context: { db: FakeDb; namespace: string; writeBehind: WriteBehindOptions }) => CacheAppSpec,
): WriteBehindApps {
  const redis = rawRedis();
  const apps: CacheApp[] = [];
  let namespace = '';
  beforeEach(() => {
    namespace = uniqueNamespace(namespacePrefix);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await deleteQueue(redis, namespace);
    await cleanNamespace(redis, namespace);
  });
  afterAll(() => redis.quit());
  return {
    redis,
    get namespace() {
      return namespace;
    },
    async start(db, writeBehind = {}) {
      Posts.db = db;
      const app = await createCacheApp(appSpec({ db, namespace, writeBehind }));
      apps.push(app);
      return app;
    },
    keep(app) {
      apps.push(app);
      return app;
    },
  };
}
