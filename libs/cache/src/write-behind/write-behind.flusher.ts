import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CACHE_OPTIONS } from '../cache.constants';
import { CacheEngine, leaseKeyOf } from '../engine/cache-engine';
import { CacheEvents } from '../engine/cache-events';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import { CacheConnections } from '../stores/cache-connections';
import { checkRedisMemory } from '../stores/redis-config-check';
import { type WriteBehindDeadLetter, WriteBehindDeadLetters } from './write-behind.dead-letters';
import { decodeWrite, fieldText, streamFields } from './write-behind.entry';
import type { WriteBehindFlushFn, WriteBehindWrite } from './write-behind.handler';
import { WriteBehindHandlers } from './write-behind.handlers';
import { WRITE_BEHIND_GROUP, type WriteBehindKeys, writeBehindKeys } from './write-behind.keys';
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
 *   grows until back-pressure makes callers write through). A retry hands the writes over one key at a time, so the
 *   keys that succeed are acknowledged and only the failing ones go on being retried.
 * - An entry handed over `maxDeliveries` times (the consumer group's delivery count: reads, retries, reclaims) is
 *   moved to the dead-letter stream instead of being handed over again, so one entry its handler can never take
 *   does not hold up the queue forever. Writes are never dropped: they are flushed or dead-lettered.
 * Delivery is at least once: a batch whose handler finished but whose acknowledgement was lost is handed over again.
 */

/**
 * One queue entry as read: `fields` is null when the entry was deleted while still pending; `deliveries` counts
 * this read.
 */
interface QueueEntry {
  readonly id: string;
  readonly fields: Map<string, Buffer> | null;
  readonly deliveries: number;
}

/** The last write of one key in a batch, and every entry of that key it stands for. */
interface KeyWrites {
  readonly entryKey: string;
  readonly write: WriteBehindWrite;
  readonly ids: string[];
}

/** A handler's share of a batch: its keys in stream order, and whether any entry was handed over before. */
interface HandlerBatch {
  readonly keys: Map<string, KeyWrites>;
  /** Keys held back (an entry does not decode): they stay pending, as after a failure. */
  readonly blocked: Set<string>;
  retry: boolean;
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
  /** Handlers failing now, with the last reason (recorded in their dead letters). */
  private readonly failing = new Map<string, string>();
  private loopFailing = false;
  private sampler: NodeJS.Timeout | undefined;
  private readonly deadLetterStream: WriteBehindDeadLetters;

  constructor(
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    private readonly connections: CacheConnections,
    private readonly handlers: WriteBehindHandlers,
    private readonly events: CacheEvents,
    engine: CacheEngine,
  ) {
    this.keys = writeBehindKeys(options.namespace);
    this.deadLetterStream = new WriteBehindDeadLetters(options, connections, handlers, engine, this.keys);
  }

  /** Whether this instance currently holds the leader lease (for tests and health). */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * Up to `count` writes the flusher gave up on (dead letters), oldest first. Works whether or not this instance
   * runs a flusher.
   * @example const letters = await flusher.deadLetters(); // [{ id, handler, write: { key, value, version }, error }]
   */
  deadLetters(count = 100): Promise<WriteBehindDeadLetter[]> {
    return this.deadLetterStream.list(count);
  }

  /**
   * Hands dead letters (`ids`, default all) to their handlers again, one write per call and with the write's original
   * version, once whatever made them fail is fixed. Each one its handler took is deleted from the dead-letter stream
   * and its key's cached value dropped. Rejects at the first failure; the ones before it stay replayed.
   * @returns how many were replayed
   * @example await flusher.replayDeadLetters(); // after the bad constraint was fixed
   */
  replayDeadLetters(ids?: readonly string[]): Promise<number> {
    return this.deadLetterStream.replay(ids);
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
    // Sampled on the cache's connection: the flusher's own may be blocked in XREADGROUP for a whole `block`.
    this.sampler = setInterval(() => void this.sampleQueue(client as Redis), this.options.writeBehind.sampleIntervalMs).unref();
    void this.warnIfQueueEvictable(client as Redis);
  }

  /** Reports the queue's state (`writeBehindQueue`) when someone listens; skipped while Redis does not answer. */
  private async sampleQueue(client: Redis): Promise<void> {
    if (!this.events.has('writeBehindQueue')) return;
    const sample = await withWriteBehindScripts(client)
      .cacheWriteBehindStats(this.keys.stream, this.keys.deadLetters, WRITE_BEHIND_GROUP)
      .catch(() => undefined);
    if (!sample) return;
    const [length, pending, lagMs, deadLetters] = sample.map(Number);
    this.events.emit('writeBehindQueue', { length, pending, lagMs, deadLetters });
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
    clearInterval(this.sampler);
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
    if (own.length) return this.withDeliveries(own);
    return parseEntries(
      await connection.xreadgroupBuffer('GROUP', WRITE_BEHIND_GROUP, this.consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, '>'),
    );
  }

  /** Own pending entries (re-read for a retry), with their delivery counts from XPENDING. */
  private async withDeliveries(entries: QueueEntry[]): Promise<QueueEntry[]> {
    const first = entries[0].id;
    const last = entries[entries.length - 1].id;
    const details = (await this.connection!.xpending(this.keys.stream, WRITE_BEHIND_GROUP, first, last, entries.length, this.consumer)) as Array<[string, string, number, number]>;
    const counts = new Map(details.map(([id, , , deliveries]) => [String(id), Number(deliveries)]));
    return entries.map((entry) => ({ ...entry, deliveries: counts.get(entry.id) ?? entry.deliveries }));
  }

  /**
   * Hands a batch to its handlers, acknowledging each share (or, on a retry, each key) once its handler resolved;
   * moves entries past `maxDeliveries` to the dead letters first. False if anything stays pending.
   */
  private async flush(entries: readonly QueueEntry[]): Promise<boolean> {
    const orphans: string[] = [];
    const exhausted = new Map<string, QueueEntry[]>();
    const byHandler = new Map<string, HandlerBatch>();
    for (const entry of entries) {
      if (!entry.fields) {
        orphans.push(entry.id);
        continue;
      }
      const handler = fieldText(entry.fields, 'h');
      // Only a handler that is registered here has had its chances; others' entries wait for their instance.
      if (entry.deliveries > this.options.writeBehind.maxDeliveries && this.handlers.get(handler)) {
        exhausted.set(handler, [...(exhausted.get(handler) ?? []), entry]);
        continue;
      }
      const batch: HandlerBatch = byHandler.get(handler) ?? { keys: new Map(), blocked: new Set(), retry: false };
      byHandler.set(handler, batch);
      batch.retry ||= entry.deliveries > 1;
      const entryKey = fieldText(entry.fields, 'k');
      const previous = batch.keys.get(entryKey);
      try {
        const write = decodeWrite(this.options.policies, entry.fields, entry.id);
        batch.keys.delete(entryKey); // the last write of a key wins, in its place in the stream
        batch.keys.set(entryKey, { entryKey, write, ids: [...(previous?.ids ?? []), entry.id] });
      } catch (error) {
        batch.blocked.add(entryKey);
        this.warnHandler(handler, `entry ${entry.id} cannot be decoded (${(error as Error).message})`, 'it stays queued');
      }
    }
    if (orphans.length) await this.acknowledge([], orphans);
    for (const [name, dead] of exhausted) await this.deadLetter(name, dead);
    let allDone = true;
    for (const [name, batch] of byHandler) {
      const handler = this.handlers.get(name);
      if (!handler) {
        this.warnHandler(name, 'no such flush handler is registered in this instance', 'its writes stay queued');
        await this.uncount([...batch.keys.values()].flatMap(({ ids }) => ids));
        allDone = false;
        continue;
      }
      for (const key of batch.blocked) batch.keys.delete(key);
      const keys = [...batch.keys.values()];
      const groups = batch.retry ? keys.map((key) => [key]) : [keys];
      let done = batch.blocked.size === 0;
      for (const group of groups) {
        // Stopping: what is not handed over yet stays pending for the next flusher.
        if (!this.running) return false;
        if (group.length && !(await this.handOver(name, handler, group))) done = false;
      }
      if (!done) allDone = false;
      else if (this.failing.delete(name)) this.logger.log(`write-behind flush handler "${name}" is working again`);
    }
    return allDone;
  }

  /** Calls a handler with the writes of `group` and acknowledges them once it resolved. False when it threw. */
  private async handOver(name: string, handler: WriteBehindFlushFn, group: readonly KeyWrites[]): Promise<boolean> {
    const ids = group.flatMap((key) => key.ids);
    const started = performance.now();
    const renewal = setInterval(() => {
      void this.connection?.cacheWriteBehindRenew(this.keys.leader, this.token, this.options.writeBehind.leaderTtlMs).then(
        (renewed) => renewed === 1 || (this.leader = false),
        () => undefined,
      );
    }, this.options.writeBehind.leaderTtlMs / 3);
    this.phase = 'flushing';
    try {
      await handler(group.map(({ write }) => write));
      // Acknowledged even if the lease was lost meanwhile: the database has the writes; a handler that checks
      // versions makes a second delivery by the next leader harmless.
      await this.acknowledge(group, ids);
    } catch (error) {
      this.events.emit('writeBehindFlush', { handler: name, entries: ids.length, writes: group.length, durationMs: performance.now() - started, error });
      this.warnHandler(name, `flush handler failed (${(error as Error).message})`, 'its entries stay queued and are retried');
      return false;
    } finally {
      clearInterval(renewal);
      this.phase = 'idle';
    }
    this.events.emit('writeBehindFlush', { handler: name, entries: ids.length, writes: group.length, durationMs: performance.now() - started });
    return true;
  }

  private async acknowledge(applied: readonly KeyWrites[], ids: readonly string[]): Promise<void> {
    const pairs = applied.flatMap(({ entryKey, write }) => [entryKey, write.id]);
    await this.connection!.cacheWriteBehindAck(this.keys.stream, this.keys.pending, WRITE_BEHIND_GROUP, applied.length, ...pairs, ...ids);
  }

  /** Moves entries handed over too often to the dead-letter stream; logs it once and reports it. */
  private async deadLetter(handler: string, entries: readonly QueueEntry[]): Promise<void> {
    const error = this.failing.get(handler) ?? 'failed in a flusher that has since stopped';
    const keys = entries.flatMap(({ fields }) => {
      const entryKey = fieldText(fields!, 'k');
      return [entryKey, leaseKeyOf(entryKey)];
    });
    const idsAndDeliveries = entries.flatMap(({ id, deliveries }) => [id, deliveries - 1]);
    const { stream, pending, deadLetters } = this.keys;
    await this.connection!.cacheWriteBehindDeadLetter(3 + keys.length, stream, pending, deadLetters, ...keys, WRITE_BEHIND_GROUP, error, ...idsAndDeliveries);
    this.events.emit('writeBehindDeadLetter', { handler, entries: entries.length, error });
    this.logger.error(
      `write-behind handler "${handler}" (namespace "${this.options.namespace}"): ${entries.length} entries failed ` +
        `${this.options.writeBehind.maxDeliveries} deliveries (last: ${error}); moved to ${deadLetters}, their cached values dropped - ` +
        'see docs/write-behind.md to replay them',
    );
  }

  /** Entries this instance cannot hand to anyone were not tried: their reads must not count towards dead-lettering. */
  private async uncount(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.connection!.call('XCLAIM', this.keys.stream, WRITE_BEHIND_GROUP, this.consumer, 0, ...ids, 'RETRYCOUNT', 0, 'JUSTID');
  }

  /** Records why a handler fails; warns once per outage. */
  private warnHandler(name: string, reason: string, consequence: string): void {
    const known = this.failing.has(name);
    this.failing.set(name, reason);
    if (!known) this.logger.warn(`write-behind handler "${name}" (namespace "${this.options.namespace}"): ${reason}; ${consequence}`);
  }
}

/** XREADGROUP's reply, as entries (an empty list for none), each counted as delivered once. */
function parseEntries(reply: unknown): QueueEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [Buffer, Array<[Buffer, Buffer[] | null]>];
  return (entries ?? []).map(([id, list]) => ({ id: id.toString(), fields: list && streamFields(list), deliveries: 1 }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
