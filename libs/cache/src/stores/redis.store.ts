import clusterKeySlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { CacheStore, LockAttempt } from './cache-store.interface';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Keys asked for per SCAN step and deleted per UNLINK when clearing by prefix. Default 500. */
  scanBatchSize?: number;
}

/**
 * Lock scripts: the owner token makes release and extension safe. A holder whose lock expired (and was taken by
 * another) can neither free nor prolong the new holder's lock.
 */
const LOCK_SCRIPTS = {
  cacheLockAcquire: {
    numberOfKeys: 2,
    lua: `if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {0, existing} end
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {-1} end
return {redis.call('PTTL', KEYS[1])}`,
  },
  cacheLockExtend: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  },
  cacheLockRelease: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  },
  cacheSetIfLeased: {
    numberOfKeys: 2,
    lua: `if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1`,
  },
} as const;

type LockCommands = {
  [name in keyof typeof LOCK_SCRIPTS]: (...keysAndArgs: Array<string | number | Buffer>) => Promise<number>;
} & {
  /** ioredis' Buffer-replying variant of the acquire script (bulk replies as Buffers). */
  cacheLockAcquireBuffer: (...keysAndArgs: Array<string | number | Buffer>) => Promise<unknown>;
};

/**
 * The Redis tier: the only place that issues cache commands to Redis. Works on a single node, Sentinel and Cluster
 * (multi-key commands are only sent with keys of one slot).
 */
export class RedisStore implements CacheStore {
  readonly name = 'redis';
  private readonly scanBatchSize: number;

  constructor(
    private readonly client: Redis | Cluster,
    options: RedisStoreOptions = {},
  ) {
    this.scanBatchSize = options.scanBatchSize ?? 500;
    for (const [name, script] of Object.entries(LOCK_SCRIPTS)) {
      if (!(name in client)) client.defineCommand(name, script);
    }
  }

  private get scripts(): LockCommands {
    return this.client as unknown as LockCommands;
  }

  // get and getMany return ioredis' promise (mapped) rather than await it: one promise reaction less on every hit.
  get(key: string): Promise<Buffer | undefined> {
    return this.client.getBuffer(key).then(orUndefined);
  }

  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return Promise.resolve([]);
    if (!this.client.isCluster) return this.client.mgetBuffer(...keys).then((values) => values.map(orUndefined));
    return this.getManyBySlot(keys);
  }

  /** MGET on a Cluster takes keys of one slot only: one MGET per slot, sent concurrently, answers put back in order. */
  private async getManyBySlot(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    const values = new Array<Buffer | undefined>(keys.length);
    await Promise.all(
      positionsBySlot(keys).map(async (positions) => {
        const replies = await this.client.mgetBuffer(...positions.map((position) => keys[position]));
        positions.forEach((position, index) => (values[position] = orUndefined(replies[index])));
      }),
    );
    return values;
  }

  async increment(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const pipeline = this.client.multi();
    for (const key of keys) pipeline.incr(key);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return Number(value);
    });
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (!this.client.isCluster) return (this.client as Redis).unlink(...keys);
    // UNLINK on a Cluster takes keys of one slot only: one per slot, sent concurrently.
    const counts = await Promise.all(positionsBySlot(keys).map((positions) => this.client.unlink(...positions.map((position) => keys[position]))));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    const nodes = this.client.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    // A Cluster that has not (yet, or any longer) loaded its slot map knows no master: nothing was cleared.
    if (nodes.length === 0) throw new Error('Redis Cluster: no master known, cannot scan for the prefix');
    const counts = await Promise.all(nodes.map((node) => this.deleteByPrefixOnNode(node, prefix)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async remainingTtl(key: string): Promise<number | undefined> {
    const ttl = await this.client.pttl(key);
    return ttl === -2 ? undefined : ttl === -1 ? Number.POSITIVE_INFINITY : ttl;
  }

  async getAndExtend(key: string, ttlMs: number): Promise<Buffer | undefined> {
    return (await this.client.getexBuffer(key, 'PX', Math.max(1, Math.ceil(ttlMs)))) ?? undefined;
  }

  async acquireLock(key: string, token: string, ttlMs: number, unlessKey?: string): Promise<LockAttempt> {
    const [result, existing] = (await this.scripts.cacheLockAcquireBuffer(
      key,
      unlessKey ?? key,
      token,
      Math.max(1, Math.ceil(ttlMs)),
      unlessKey === undefined ? '0' : '1',
    )) as unknown as [number, Buffer?];
    if (existing) return { acquired: false, existing };
    // -2: the lock expired between SET and PTTL; the caller simply tries again.
    return result === -1 ? { acquired: true } : { acquired: false, remainingMs: Math.max(0, result) };
  }

  async extendLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.scripts.cacheLockExtend(key, token, Math.max(1, Math.ceil(ttlMs)))) === 1;
  }

  async releaseLock(key: string, token: string): Promise<boolean> {
    return (await this.scripts.cacheLockRelease(key, token)) === 1;
  }

  async grantLease(leaseKey: string, token: string, ttlMs: number): Promise<void> {
    await this.client.set(leaseKey, token, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async setIfLeased(key: string, leaseKey: string, token: string, value: Buffer, ttlMs: number): Promise<boolean> {
    return (await this.scripts.cacheSetIfLeased(key, leaseKey, token, value, Math.max(1, Math.ceil(ttlMs)))) === 1;
  }

  /** SCAN + UNLINK in batches on one node: never KEYS, never one huge blocking command. */
  private async deleteByPrefixOnNode(node: Redis, prefix: string): Promise<number> {
    const match = `${escapeGlob(prefix)}*`;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', this.scanBatchSize);
      cursor = next;
      if (keys.length === 0) continue;
      if (this.client.isCluster) {
        // Keys on one Cluster node may still span slots, so each is its own command (pipelined).
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        const results = (await pipeline.exec()) ?? [];
        deleted += results.reduce((sum, [error, count]) => sum + (error ? 0 : Number(count)), 0);
      } else {
        deleted += await node.unlink(...keys);
      }
    } while (cursor !== '0');
    return deleted;
  }
}

/** The positions of `keys` grouped by Cluster hash slot, so each group can share one multi-key command. */
function positionsBySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  keys.forEach((key, position) => {
    const slot = clusterKeySlot(key);
    const group = groups.get(slot);
    if (group) group.push(position);
    else groups.set(slot, [position]);
  });
  return [...groups.values()];
}

/** Escapes the characters SCAN MATCH treats as a pattern, so a prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Redis' nil as the store contract's "absent". */
function orUndefined(value: Buffer | null): Buffer | undefined {
  return value ?? undefined;
}
