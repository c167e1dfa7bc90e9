import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CACHE_OPTIONS } from '../cache.constants';
import { InvalidDecoratorError } from '../cache.errors';
import type { WriteBehindDecoratorOptions } from '../decorators/cache-operation';
import { CacheEngine, leaseKeyOf, withJitter } from '../engine/cache-engine';
import { decodeEntry, encodeEntry } from '../engine/cache-entry';
import { CacheEvents } from '../engine/cache-events';
import { staleRetentionMs } from '../engine/freshness';
import { OnceLogger } from '../engine/once-logger';
import { type CompiledKey, compileKey } from '../keys/key-template';
import { parseDuration } from '../options/duration';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import type { ResolvedPolicy } from '../policies/resolved-policy';
import { CacheConnections } from '../stores/cache-connections';
import type { WriteBehindFlushFn } from './write-behind.handler';
import { WriteBehindHandlers } from './write-behind.handlers';
import { versionOf, type WriteBehindKeys, writeBehindKeys } from './write-behind.keys';
import { type WriteBehindCommands, withWriteBehindScripts } from './write-behind.scripts';

/**
 * The producer side of write-behind: queues one write, or writes it through when the queue is pushed too hard, and
 * answers a miss with the newest queued value of its key.
 *
 * Invariants:
 * - A queued write is in the cache and in the queue, or in neither: one Lua script SETs the entry (revoking the
 *   key's fill lease, so a fill that read the older row cannot land after it), XADDs the write and records it as the
 *   key's newest pending write. The queue is never trimmed: only the flusher deletes entries, after the database
 *   took them.
 * - While a key has a pending write, a miss on it is answered with that write's value, never the database's older
 *   row (see {@link loadPendingOr}).
 * - Past `maxLength` or `maxLag` the script refuses and reserves a version above every queued write; the handler
 *   runs in the call with that version, so a version-checking handler keeps it over older queued writes.
 */

/** A @WriteBehind compiled at start-up. */
export interface CompiledWriteBehind {
  readonly key: CompiledKey;
  readonly policy: ResolvedPolicy;
  readonly ttlMs: number | undefined;
  readonly flush: string;
  readonly handler: WriteBehindFlushFn;
  readonly value: ((result: unknown, args: unknown[]) => unknown) | undefined;
}

type Client = Redis & WriteBehindCommands;

/** Where one write goes: the full key, the key as the decorator built it, and the tenant (if any). */
export interface WriteTarget {
  readonly key: string;
  readonly relativeKey: string;
  readonly tenant: string | undefined;
}

@Injectable()
export class WriteBehindQueue {
  private readonly logger = new OnceLogger('Cache');
  private readonly keys: WriteBehindKeys;
  private readonly client: Client | undefined;
  private compiledAny = false;
  private fallingBack = false;

  constructor(
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    private readonly connections: CacheConnections,
    private readonly events: CacheEvents,
    private readonly handlers: WriteBehindHandlers,
    private readonly engine: CacheEngine,
  ) {
    this.keys = writeBehindKeys(options.namespace);
    const client = connections.redis?.client;
    this.client = client && !client.isCluster ? withWriteBehindScripts(client as Redis) : undefined;
  }

  /**
   * Compiles one @WriteBehind.
   * @throws CacheError naming `where` when the module has no single-node Redis, the handler or policy is unknown, or
   *   the policy cannot be used for write-behind
   */
  compile(operation: WriteBehindDecoratorOptions, where: string): CompiledWriteBehind {
    const client = this.connections.redis?.client;
    if (!client) throw new InvalidDecoratorError(where, '@WriteBehind needs the module to run on Redis (the queue lives there)');
    if (client.isCluster) {
      throw new InvalidDecoratorError(
        where,
        '@WriteBehind needs a single Redis node (or Sentinel): one atomic script writes the entry, its lease and the queue, ' +
          'which live in different Cluster slots; use @WriteThrough on a Redis Cluster',
      );
    }
    if (typeof operation.flush !== 'string' || operation.flush.length === 0) throw new InvalidDecoratorError(where, '@WriteBehind needs flush (a handler name)');
    if (operation.key === undefined) throw new InvalidDecoratorError(where, '@WriteBehind needs a key');
    const policy = this.options.policies.resolve(operation.policy, where);
    if (!policy.cache) throw new InvalidDecoratorError(where, `@WriteBehind cannot use policy "${policy.name}", which never caches`);
    if (policy.l1) {
      throw new InvalidDecoratorError(where, `@WriteBehind cannot use policy "${policy.name}" with l1: queued writes do not reach other instances' L1 copies`);
    }
    const handler = this.handlers.require(operation.flush, where);
    this.compiledAny = true;
    return {
      key: compileKey(operation.key, where, true),
      policy,
      ttlMs: operation.ttl === undefined ? undefined : parseDuration(operation.ttl, `${where} ttl`),
      flush: operation.flush,
      handler,
      value: operation.value as CompiledWriteBehind['value'],
    };
  }

  /**
   * Writes `value` to the cache entry `key` and queues it for the database in one step; past the queue's bounds (or
   * when Redis does not answer) runs the flush handler now instead, then caches the value.
   * @param key the full key (namespace included); `relativeKey` is what the handler is given
   * @throws the flush handler's error, when the write fell back to writing through and the handler failed
   */
  async write(compiled: CompiledWriteBehind, target: WriteTarget, value: unknown, where: string): Promise<void> {
    const { key, relativeKey, tenant } = target;
    if (value === undefined) {
      this.logger.warnOnce(`wb-undefined:${where}`, `${where}: @WriteBehind method returned undefined; nothing written`);
      return;
    }
    const { bytes, ttlMs } = this.encode(compiled, value);
    const outcome = await this.withTimeout(
      this.client!.cacheWriteBehind(
        key, leaseKeyOf(key), this.keys.stream, this.keys.pending,
        bytes, ttlMs, this.options.writeBehind.maxLength, this.options.writeBehind.maxLagMs, key, relativeKey, compiled.flush, compiled.policy.name, tenant ?? '',
      ),
      this.options.storeGuard.writeTimeoutMs,
    ).catch(() => undefined);
    if (outcome && Number(outcome[0]) === 1) {
      if (this.fallingBack) {
        this.fallingBack = false;
        this.logger.log(`write-behind queue of namespace "${this.options.namespace}" accepts writes again`);
      }
      return;
    }
    const reason = outcome ? (String(outcome[1]) as 'length' | 'lag') : 'unavailable';
    // Redis did not answer: the best version available is this host's clock, after every id of this millisecond.
    const id = outcome ? String(outcome[2]) : `${Date.now()}-999999`;
    this.events.emit('writeBehindFallback', { policy: compiled.policy.name, key, reason });
    if (!this.fallingBack) {
      this.fallingBack = true;
      this.logger.warn(`write-behind queue of namespace "${this.options.namespace}" refused a write (${reason}); writing through until it recovers`);
    }
    await compiled.handler([{ key: relativeKey, value, version: versionOf(id), id, ...(tenant === undefined ? {} : { tenant }) }]);
    const settled = await this.withTimeout(
      this.client!.cacheWriteBehindSettle(key, leaseKeyOf(key), this.keys.pending, bytes, ttlMs, key, id),
      this.options.storeGuard.writeTimeoutMs,
    ).catch(() => undefined);
    // Not settled: the cached value may be older than what the database now holds, so it goes.
    if (settled === undefined) await this.engine.delete([key]);
  }

  /**
   * The loader to use for a miss on `key`: `load` itself while no @WriteBehind is in use, else one that answers
   * with the key's newest queued write when there is one (it is newer than the database row).
   */
  loaderFor<T>(key: string, load: () => Promise<T> | T): () => Promise<T> | T {
    return this.compiledAny ? () => this.loadPendingOr(key, async () => load()) as Promise<T> : load;
  }

  /**
   * The loader of a miss on `key`: the newest queued (not yet flushed) value of the key when there is one, else
   * `load()` (the database). One script call per miss, none per hit.
   */
  async loadPendingOr(key: string, load: () => Promise<unknown>): Promise<unknown> {
    const pending = this.client
      ? await this.withTimeout(this.client.cacheWriteBehindPendingBuffer(this.keys.pending, this.keys.stream, key), this.options.storeGuard.readTimeoutMs).catch(
          (error: Error) => {
            this.logger.warnOnce('wb-pending-read', `write-behind: cannot read pending writes (${error.message}); a miss may load an older database row`);
            return null;
          },
        )
      : null;
    if (!pending) return load();
    try {
      const policy = this.options.policies.resolve(pending[0].toString());
      return decodeEntry(policy.codec, pending[1]).value;
    } catch (error) {
      this.logger.warnOnce('wb-pending-decode', `write-behind: a pending write cannot be decoded (${(error as Error).message}); loading from the database`);
      return load();
    }
  }

  /** The entry as every writer stores it (the policy's codec, TTL with jitter, stale retention). */
  private encode(compiled: CompiledWriteBehind, value: unknown): { bytes: Buffer; ttlMs: number } {
    const { policy } = compiled;
    const baseTtl = compiled.ttlMs ?? (value === null && policy.negativeTtlMs ? policy.negativeTtlMs : policy.ttlMs);
    const freshMs = withJitter(baseTtl, policy.jitter);
    const bytes = encodeEntry(policy.codec, { value, freshUntil: Date.now() + freshMs, loadMs: 0, formatVersion: this.options.formatVersion });
    return { bytes, ttlMs: Math.max(1, Math.ceil(freshMs + staleRetentionMs(policy))) };
  }

  private async withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
