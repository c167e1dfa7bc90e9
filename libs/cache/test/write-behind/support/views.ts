import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Cacheable, WriteBehind, type WriteBehindWrite, writeBehindKeys } from '@app/cache';
import { sleep } from '../../support/redis';

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
