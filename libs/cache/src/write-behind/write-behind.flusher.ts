import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CACHE_OPTIONS } from '../cache.constants';
import { decodeEntry } from '../engine/cache-entry';
import { CacheEvents } from '../engine/cache-events';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import { CacheConnections } from '../stores/cache-connections';
import { checkRedisMemory } from '../stores/redis-config-check';
import type { WriteBehindWrite } from './write-behind.handler';
import { WriteBehindHandlers } from './write-behind.handlers';
import { versionOf, WRITE_BEHIND_GROUP, type WriteBehindKeys, writeBehindKeys } from './write-behind.keys';
import { type WriteBehindCommands, withWriteBehindScripts } from './write-behind.scripts';

/**
 * Drains the write-behind queue into the database, through the flush handlers.
 *
 * Invariants:
 * - One flusher at a time flushes a namespace (it holds the leader lease, renewed while it works); the others stand
 *   by and take over within one lease after it dies. Batches are therefore applied one after the other, in queue
 *   order, and a key's writes reach its handler in order.
 * - An entry is acknowledged (and deleted from the queue) only after its handler resolved. A flusher that dies
 *   mid-batch leaves its entries pending in the consumer group; the next leader reclaims them (XAUTOCLAIM) once they
 *   have been idle for `claimIdle`, and reads nothing newer until it has, so order survives the crash.
 * - Within a batch, writes to one key coalesce: the handler gets the last one (stream order), with its version.
 * - A batch whose handler fails stays pending and is retried before anything newer (head-of-line: the queue then
 *   grows until back-pressure makes callers write through). Writes are never dropped.
 * Delivery is at least once: a batch whose handler finished but whose acknowledgement was lost is handed over again.
 */

/** One queue entry as read: `fields` is null when the entry was deleted while still pending. */
interface QueueEntry {
  readonly id: string;
  readonly fields: Map<string, Buffer> | null;
}

/** A handler's share of a batch: every entry id, and the last write of each key. */
interface HandlerBatch {
  readonly ids: string[];
  readonly writes: Map<string, WriteBehindWrite & { readonly entryKey: string }>;
}

const SHUTDOWN_WAIT_MS = 5_000;

@Injectable()
export class WriteBehindFlusher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Cache');
  private readonly keys: WriteBehindKeys;
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly token = randomUUID();
  private connection: (Redis & WriteBehindCommands) | undefined;
  private loop: Promise<void> | undefined;
  private running = false;
  private leader = false;
  private phase: 'idle' | 'flushing' = 'idle';
  private readonly failing = new Set<string>();
  private loopFailing = false;

  constructor(
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    private readonly connections: CacheConnections,
    private readonly handlers: WriteBehindHandlers,
    private readonly events: CacheEvents,
  ) {
    this.keys = writeBehindKeys(options.namespace);
  }

  /** Whether this instance currently holds the leader lease (for tests and health). */
  get isLeader(): boolean {
    return this.leader;
  }

  onApplicationBootstrap(): void {
    const client = this.connections.redis?.client;
    if (!this.options.writeBehind.flusher || !client || client.isCluster || this.handlers.names.length === 0) return;
    // A dedicated connection: XREADGROUP BLOCK must not hold up the cache's commands (or their offline fail-fast).
    const connection = (client as Redis).duplicate({ enableAutoPipelining: false, enableOfflineQueue: true, maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    this.connection = withWriteBehindScripts(connection);
    this.running = true;
    this.loop = this.run();
    void this.warnIfQueueEvictable(client as Redis);
  }

  /** allkeys-* eviction may drop the queue (writes lost); volatile-* only drops keys with a TTL, never the queue. */
  private async warnIfQueueEvictable(client: Redis): Promise<void> {
    const memory = await checkRedisMemory(client).catch(() => undefined);
    const policy = memory?.settings[0]?.policy;
    if (policy?.startsWith('allkeys')) {
      this.logger.error(
        `write-behind: Redis evicts with ${policy}, which can drop queued writes before they reach the database; ` +
          'use volatile-lru or volatile-lfu (every cache entry has a TTL, the queue has none) - see docs/write-behind.md',
      );
    }
  }

  async onModuleDestroy(): Promise<void> {
    const connection = this.connection;
    if (!connection) return;
    this.running = false;
    // A handler under way finishes and is acknowledged; a blocked read is simply cut.
    if (this.phase !== 'flushing') connection.disconnect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timer);
    connection.disconnect();
    this.connection = undefined;
    const client = this.connections.redis?.client;
    if (this.leader && client?.status === 'ready') {
      // Hand over at once rather than after the lease runs out.
      await withWriteBehindScripts(client as Redis).cacheWriteBehindResign(this.keys.leader, this.token).catch(() => undefined);
    }
    this.leader = false;
  }

  private async run(): Promise<void> {
    const { retryDelayMs, leaderTtlMs, claimIdleMs } = this.options.writeBehind;
    while (this.running) {
      try {
        if (!(await this.lead())) {
          await sleep(Math.min(1_000, leaderTtlMs / 3));
          continue;
        }
        const batch = await this.nextBatch();
        if (batch === 'wait') {
          await sleep(Math.min(250, claimIdleMs / 4));
          continue;
        }
        if (batch.length && !(await this.flush(batch))) await sleep(retryDelayMs);
        if (this.loopFailing) {
          this.loopFailing = false;
          this.logger.log(`write-behind flusher of namespace "${this.options.namespace}" is working again`);
        }
      } catch (error) {
        if (!this.running) break;
        if (!this.loopFailing) {
          this.loopFailing = true;
          this.logger.warn(`write-behind flusher of namespace "${this.options.namespace}": ${(error as Error).message}; retrying`);
        }
        if (String((error as Error).message).includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
        await sleep(retryDelayMs);
      }
    }
  }

  /** Holds (renews or takes) the leader lease; false when another flusher holds it. */
  private async lead(): Promise<boolean> {
    const connection = this.connection!;
    const { leaderTtlMs } = this.options.writeBehind;
    if (this.leader) {
      if ((await connection.cacheWriteBehindRenew(this.keys.leader, this.token, leaderTtlMs)) === 1) return true;
      this.leader = false;
    }
    if ((await connection.set(this.keys.leader, this.token, 'PX', leaderTtlMs, 'NX')) !== 'OK') return false;
    this.leader = true;
    await this.ensureGroup();
    await this.forgetDeadConsumers();
    return true;
  }

  private async ensureGroup(): Promise<void> {
    await this.connection!.xgroup('CREATE', this.keys.stream, WRITE_BEHIND_GROUP, '0', 'MKSTREAM').catch((error: Error) => {
      if (!error.message.includes('BUSYGROUP')) throw error;
    });
  }

  /** Removes consumers of crashed flushers once they hold nothing, so the group does not grow with every restart. */
  private async forgetDeadConsumers(): Promise<void> {
    const consumers = (await this.connection!.xinfo('CONSUMERS', this.keys.stream, WRITE_BEHIND_GROUP)) as unknown[][];
    for (const consumer of consumers) {
      const fields = new Map<string, unknown>();
      for (let i = 0; i + 1 < consumer.length; i += 2) fields.set(String(consumer[i]), consumer[i + 1]);
      const name = String(fields.get('name'));
      if (name !== this.consumer && Number(fields.get('pending')) === 0 && Number(fields.get('idle')) > this.options.writeBehind.claimIdleMs) {
        await this.connection!.xgroup('DELCONSUMER', this.keys.stream, WRITE_BEHIND_GROUP, name);
      }
    }
  }

  /**
   * The next batch, oldest first: entries reclaimed from crashed flushers and entries of a failed handler come
   * before new ones. 'wait' while another consumer still holds entries not yet idle long enough to reclaim.
   */
  private async nextBatch(): Promise<QueueEntry[] | 'wait'> {
    const connection = this.connection!;
    const { stream } = this.keys;
    const { batchSize, blockMs, claimIdleMs } = this.options.writeBehind;
    let cursor = '0-0';
    do {
      const reply = (await connection.xautoclaim(stream, WRITE_BEHIND_GROUP, this.consumer, claimIdleMs, cursor, 'COUNT', batchSize, 'JUSTID')) as [string, ...unknown[]];
      cursor = String(reply[0]);
    } while (cursor !== '0-0');
    const summary = (await connection.xpending(stream, WRITE_BEHIND_GROUP)) as [number, unknown, unknown, Array<[string, string]> | null];
    if (summary[3]?.some(([name, count]) => name !== this.consumer && Number(count) > 0)) return 'wait';
    const own = parseEntries(await connection.xreadgroupBuffer('GROUP', WRITE_BEHIND_GROUP, this.consumer, 'COUNT', batchSize, 'STREAMS', stream, '0'));
    if (own.length) return own;
    return parseEntries(
      await connection.xreadgroupBuffer('GROUP', WRITE_BEHIND_GROUP, this.consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>'),
    );
  }

  /** Hands a batch to its handlers, acknowledging each handler's share once it resolved. False if any failed. */
  private async flush(entries: readonly QueueEntry[]): Promise<boolean> {
    const orphans: string[] = [];
    const byHandler = new Map<string, HandlerBatch>();
    const undecodable = new Set<string>();
    for (const entry of entries) {
      if (!entry.fields) {
        orphans.push(entry.id);
        continue;
      }
      const field = (name: string) => entry.fields!.get(name)?.toString() ?? '';
      const handler = field('h');
      const batch: HandlerBatch = byHandler.get(handler) ?? { ids: [], writes: new Map() };
      byHandler.set(handler, batch);
      batch.ids.push(entry.id);
      try {
        const policy = this.options.policies.resolve(field('p'));
        const value = decodeEntry(policy.codec, entry.fields.get('v') ?? Buffer.alloc(0)).value;
        const entryKey = field('k');
        batch.writes.delete(entryKey); // the last write of a key wins, in its place in the stream
        const tenant = field('t');
        batch.writes.set(entryKey, { key: field('r'), value, version: versionOf(entry.id), id: entry.id, entryKey, ...(tenant ? { tenant } : {}) });
      } catch (error) {
        undecodable.add(handler);
        this.warnHandler(handler, `entry ${entry.id} cannot be decoded (${(error as Error).message})`);
      }
    }
    if (orphans.length) await this.acknowledge([], orphans);
    let allDone = true;
    for (const [name, batch] of byHandler) {
      const handler = this.handlers.get(name);
      if (!handler || undecodable.has(name)) {
        if (!handler) this.warnHandler(name, 'no such flush handler is registered in this instance; its writes stay queued');
        allDone = false;
        continue;
      }
      const writes = [...batch.writes.values()];
      const started = performance.now();
      const renewal = setInterval(() => {
        void this.connection?.cacheWriteBehindRenew(this.keys.leader, this.token, this.options.writeBehind.leaderTtlMs).then(
          (renewed) => renewed === 1 || (this.leader = false),
          () => undefined,
        );
      }, this.options.writeBehind.leaderTtlMs / 3);
      this.phase = 'flushing';
      try {
        await handler(writes.map(({ entryKey: _entryKey, ...write }) => write));
        // Acknowledged even if the lease was lost meanwhile: the database has the writes; a handler that checks
        // versions makes a second delivery by the next leader harmless.
        await this.acknowledge(writes, batch.ids);
      } catch (error) {
        allDone = false;
        this.events.emit('writeBehindFlush', { handler: name, entries: batch.ids.length, writes: writes.length, durationMs: performance.now() - started, error });
        this.warnHandler(name, `flush handler failed (${(error as Error).message}); ${batch.ids.length} entries stay queued and are retried`);
        continue;
      } finally {
        clearInterval(renewal);
        this.phase = 'idle';
      }
      this.events.emit('writeBehindFlush', { handler: name, entries: batch.ids.length, writes: writes.length, durationMs: performance.now() - started });
      if (this.failing.delete(name)) this.logger.log(`write-behind flush handler "${name}" is working again`);
    }
    return allDone;
  }

  private async acknowledge(writes: ReadonlyArray<{ entryKey: string; id: string }>, ids: readonly string[]): Promise<void> {
    const pairs = writes.flatMap(({ entryKey, id }) => [entryKey, id]);
    await this.connection!.cacheWriteBehindAck(this.keys.stream, this.keys.pending, WRITE_BEHIND_GROUP, writes.length, ...pairs, ...ids);
  }

  /** Warns once per outage of a handler. */
  private warnHandler(name: string, message: string): void {
    if (this.failing.has(name)) return;
    this.failing.add(name);
    this.logger.warn(`write-behind handler "${name}" (namespace "${this.options.namespace}"): ${message}`);
  }
}

/** XREADGROUP's reply, as entries (an empty list for none). */
function parseEntries(reply: unknown): QueueEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [Buffer, Array<[Buffer, Buffer[] | null]>];
  return (entries ?? []).map(([id, list]) => {
    if (!list) return { id: id.toString(), fields: null };
    const fields = new Map<string, Buffer>();
    for (let i = 0; i + 1 < list.length; i += 2) fields.set(list[i].toString(), list[i + 1]);
    return { id: id.toString(), fields };
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
