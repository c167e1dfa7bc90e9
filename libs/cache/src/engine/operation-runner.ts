import { Inject, Injectable } from '@nestjs/common';
import { CACHE_OPTIONS } from '../cache.constants';
import { InvalidDecoratorError } from '../cache.errors';
import type { CacheEvictOptions, CacheOperation } from '../decorators/cache-operation';
import { keyScope, qualifyKey } from '../keys/key-builder';
import { type CompiledKey, compileKey } from '../keys/key-template';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import { parseDuration } from '../options/duration';
import type { ResolvedPolicy } from '../policies/resolved-policy';
import { type CompiledWriteBehind, WriteBehindQueue } from '../write-behind/write-behind.queue';
import { asResult, CacheEngine, type CacheResult, loadBypassingCache, type Present } from './cache-engine';
import { OnceLogger } from './once-logger';

/**
 * Applies a method's recorded decorators around one call. Operations are compiled once at start-up (policies
 * resolved, key templates parsed), so a misconfigured decorator fails the application's start, never a request.
 */

interface CompiledCacheable {
  readonly key: CompiledKey;
  readonly policy: ResolvedPolicy;
  readonly ttlMs: number | undefined;
  readonly condition: ((args: unknown[]) => boolean) | undefined;
  readonly unless: ((result: unknown, args: unknown[]) => boolean) | undefined;
  readonly tags: TagsOf | undefined;
}

/** Tags of one call, from its arguments and (where it exists) its result. */
type TagsOf = (args: unknown[], result: unknown) => readonly string[];

interface CompiledWriteThrough {
  readonly key: CompiledKey;
  readonly policy: ResolvedPolicy;
  readonly ttlMs: number | undefined;
  readonly value: ((result: unknown, args: unknown[]) => unknown) | undefined;
}

interface CompiledEvict {
  readonly keys: readonly CompiledKey[];
  /** `true`: the whole namespace; a key: that key and everything under `key:`. */
  readonly allEntries: true | CompiledKey | undefined;
  readonly tags: TagsOf | undefined;
}

/** A method's operations, ready to run. */
export interface CompiledOperations {
  /** `Class.method`, for logs. */
  readonly where: string;
  readonly cacheable: CompiledCacheable | undefined;
  readonly writeThroughs: readonly CompiledWriteThrough[];
  readonly writeBehind: CompiledWriteBehind | undefined;
  readonly evictsBefore: readonly CompiledEvict[];
  readonly evictsAfter: readonly CompiledEvict[];
}

@Injectable()
export class OperationRunner {
  private readonly logger = new OnceLogger('Cache');
  private readonly compiledByMethod = new WeakMap<object, CompiledOperations>();

  constructor(
    private readonly engine: CacheEngine,
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    private readonly writeBehindQueue: WriteBehindQueue,
  ) {}

  /**
   * Compiles (once per method) the operations recorded on `method`.
   * @throws CacheError naming `where` when a policy is unknown or a decorator is misconfigured
   */
  compile(method: object, operations: readonly CacheOperation[], where: string): CompiledOperations {
    const known = this.compiledByMethod.get(method);
    if (known) return known;
    const compiled = this.compileOperations(operations, where);
    this.compiledByMethod.set(method, compiled);
    return compiled;
  }

  /**
   * Runs one call through its operations: evictions before, cache-aside around, write-through and evictions after.
   * The method's own errors propagate untouched; cache failures never replace its result. Resolves to what `present`
   * makes of the method's value and how it was obtained.
   */
  run<R>(compiled: CompiledOperations, args: unknown[], invoke: () => Promise<unknown>, present: Present<unknown, R>): Promise<R> {
    if (compiled.evictsBefore.length || compiled.writeBehind || compiled.writeThroughs.length || compiled.evictsAfter.length) {
      return this.runAll(compiled, args, invoke).then((result) => present(result.value, result.status));
    }
    // A plain @Cacheable call (the hot path): the engine's promise itself, without an async frame around it.
    try {
      return this.readThrough(compiled, args, invoke, present);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async runAll(compiled: CompiledOperations, args: unknown[], invoke: () => Promise<unknown>): Promise<CacheResult<unknown>> {
    if (compiled.evictsBefore.length) await Promise.all(compiled.evictsBefore.map((evict) => this.evict(compiled, evict, args, undefined)));
    const result = await this.readThrough<CacheResult<unknown>>(compiled, args, invoke, asResult);
    if (compiled.writeBehind) await this.writeBehind(compiled, compiled.writeBehind, args, result.value);
    if (compiled.writeThroughs.length || compiled.evictsAfter.length) {
      await Promise.all([
        ...compiled.writeThroughs.map((write) => this.writeThrough(compiled, write, args, result.value)),
        ...compiled.evictsAfter.map((evict) => this.evict(compiled, evict, args, result.value)),
      ]);
    }
    return result;
  }

  /** Throws synchronously only where a caller's own function (a condition) throws; {@link run} makes that a rejection. */
  private readThrough<R>(compiled: CompiledOperations, args: unknown[], invoke: () => Promise<unknown>, present: Present<unknown, R>): Promise<R> {
    const cacheable = compiled.cacheable;
    if (!cacheable || (cacheable.condition && !cacheable.condition(args))) return loadBypassingCache(invoke, present);
    const key = this.keyOf(compiled, cacheable.key, args, undefined);
    if (key === undefined) return loadBypassingCache(invoke, present);
    const { unless, tags } = cacheable;
    const options = {
      ttlMs: cacheable.ttlMs,
      shouldCache: unless ? (value: unknown) => !unless(value, args) : undefined,
      tags: tags ? (value: unknown) => tags(args, value) : undefined,
    };
    return this.engine.getOrLoadAs(key, cacheable.policy, this.writeBehindQueue.loaderFor(key, invoke), options, present);
  }

  private async writeThrough(compiled: CompiledOperations, write: CompiledWriteThrough, args: unknown[], result: unknown): Promise<void> {
    const key = this.keyOf(compiled, write.key, args, result);
    if (key === undefined) return;
    const value = write.value ? write.value(result, args) : result;
    await this.engine.writeThrough(key, value, write.policy, write.ttlMs);
  }

  /** Queues the method's value (or writes it through); a key that cannot be built fails the call: the write has nowhere to go. */
  private async writeBehind(compiled: CompiledOperations, write: CompiledWriteBehind, args: unknown[], result: unknown): Promise<void> {
    let relativeKey: string;
    let key: string;
    let tenant: string | undefined;
    try {
      relativeKey = write.key(args, result);
      tenant = this.options.tenant?.();
      key = qualifyKey(keyScope(this.options.namespace, tenant), relativeKey, this.options.maxKeyLength);
    } catch (error) {
      throw new InvalidDecoratorError(compiled.where, `cannot build the @WriteBehind key (${(error as Error).message}); the write was not queued`);
    }
    const value = write.value ? write.value(result, args) : result;
    await this.writeBehindQueue.write(write, { key, relativeKey, tenant }, value, compiled.where);
  }

  private async evict(compiled: CompiledOperations, evict: CompiledEvict, args: unknown[], result: unknown): Promise<void> {
    const keys = evict.keys.map((key) => this.keyOf(compiled, key, args, result)).filter((key) => key !== undefined);
    const work: Array<Promise<unknown>> = [this.engine.delete(keys)];
    if (evict.tags) work.push(this.engine.invalidateTags(evict.tags(args, result)));
    if (evict.allEntries === true) {
      work.push(this.engine.deleteGroup());
    } else if (evict.allEntries) {
      const group = this.keyOf(compiled, evict.allEntries, args, result);
      if (group !== undefined) work.push(this.engine.deleteGroup(group));
    }
    await Promise.all(work);
  }

  /** The full key of one call; undefined (and one warning) when the key function throws. */
  private keyOf(compiled: CompiledOperations, key: CompiledKey, args: unknown[], result: unknown): string | undefined {
    try {
      return qualifyKey(keyScope(this.options.namespace, this.options.tenant?.()), key(args, result), this.options.maxKeyLength);
    } catch (error) {
      this.logger.warnOnce(compiled.where, `${compiled.where}: cannot build the cache key (${(error as Error).message}); call not cached`);
      return undefined;
    }
  }

  private compileOperations(operations: readonly CacheOperation[], where: string): CompiledOperations {
    const policies = this.options.policies;
    const ttlOf = (ttl: unknown) => (ttl === undefined ? undefined : parseDuration(ttl, `${where} ttl`));
    const cacheables = operations.filter((operation) => operation.kind === 'cacheable');
    const writeThroughs = operations.filter((operation) => operation.kind === 'writeThrough');
    if (cacheables.length > 1) throw new InvalidDecoratorError(where, 'has more than one @Cacheable');
    if (cacheables.length && writeThroughs.length) {
      throw new InvalidDecoratorError(where, 'cannot be both @Cacheable (a read) and @WriteThrough (a write)');
    }
    const writeBehinds = operations.filter((operation) => operation.kind === 'writeBehind');
    if (writeBehinds.length > 1) throw new InvalidDecoratorError(where, 'has more than one @WriteBehind');
    if (writeBehinds.length && (cacheables.length || writeThroughs.length)) {
      throw new InvalidDecoratorError(where, '@WriteBehind cannot be combined with @Cacheable or @WriteThrough on one method');
    }
    const cacheable = cacheables[0];
    const evicts = operations.filter((operation) => operation.kind === 'evict');
    return {
      where,
      cacheable: cacheable && {
        key: compileKey(requireKey(cacheable.key, where, '@Cacheable'), where, false),
        policy: policies.resolve(cacheable.policy, where),
        ttlMs: ttlOf(cacheable.ttl),
        condition: cacheable.condition as CompiledCacheable['condition'],
        unless: cacheable.unless as CompiledCacheable['unless'],
        tags: compileTags(cacheable.tags),
      },
      writeThroughs: writeThroughs.map((write) => ({
        key: compileKey(requireKey(write.key, where, '@WriteThrough'), where, true),
        policy: policies.resolve(write.policy, where),
        ttlMs: ttlOf(write.ttl),
        value: write.value as CompiledWriteThrough['value'],
      })),
      writeBehind: writeBehinds[0] && this.writeBehindQueue.compile(writeBehinds[0], where),
      evictsBefore: evicts.filter((evict) => evict.beforeInvocation).map((evict) => compileEvict(evict, where)),
      evictsAfter: evicts.filter((evict) => !evict.beforeInvocation).map((evict) => compileEvict(evict, where)),
    };
  }
}

function compileEvict(evict: CacheEvictOptions, where: string): CompiledEvict {
  const resultAvailable = !evict.beforeInvocation;
  const specs = [...(evict.key !== undefined ? [evict.key] : []), ...(evict.keys ?? [])];
  if (specs.length === 0 && !evict.allEntries && !evict.tags) {
    throw new InvalidDecoratorError(where, '@CacheEvict needs key, keys, tags or allEntries');
  }
  return {
    keys: specs.map((spec) => compileKey(spec, where, resultAvailable)),
    allEntries:
      evict.allEntries === true ? true : evict.allEntries ? compileKey(evict.allEntries, where, resultAvailable) : undefined,
    tags: compileTags(evict.tags),
  };
}

function compileTags(tags: readonly string[] | ((args: never, result: never) => readonly string[]) | undefined): TagsOf | undefined {
  if (tags === undefined) return undefined;
  if (typeof tags === 'function') return tags as TagsOf;
  const list = [...tags];
  return () => list;
}

function requireKey<T>(key: T | undefined, where: string, decorator: string): T {
  if (key === undefined) throw new InvalidDecoratorError(where, `${decorator} needs a key`);
  return key;
}
