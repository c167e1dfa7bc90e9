import { Injectable, Logger } from '@nestjs/common';
import type { BreakerState } from './store-guard';

/**
 * What the engine reports, by event type. Keys are given for logs and debugging; metrics must label by policy (and
 * tier) only, never by key, to keep label cardinality bounded.
 */
export interface CacheEventMap {
  /** A fresh value served from a tier. */
  hit: { readonly policy: string; readonly key: string; readonly tier: 'l1' | 'l2' };
  /** No usable value: the caller waited for a load (its own or one it joined). */
  miss: { readonly policy: string; readonly key: string };
  /** A stale value served: stale-while-revalidate, a loader timeout, or grace after a loader failure. */
  stale: { readonly policy: string; readonly key: string };
  /** A refresh no caller waits for was started. */
  refresh: { readonly policy: string; readonly key: string; readonly reason: 'early' | 'revalidate' };
  /** The loader ran; `error` is set when it threw. */
  load: { readonly policy: string; readonly key: string; readonly durationMs: number; readonly error?: unknown };
  /** A caller waited for another process's load (distributed lock). */
  lockWait: { readonly policy: string; readonly key: string; readonly waitedMs: number };
  /** A value was not cached: the codec refused it, or it exceeded the policy's maxBytes. */
  skipped: { readonly policy: string; readonly key: string; readonly reason: 'not-encodable' | 'too-big' };
  /** A stored entry could not be decoded (corrupt, foreign, too big) and was deleted. */
  badEntry: { readonly policy: string; readonly key: string };
  /** A store call failed or timed out (the caller was served without it). */
  storeError: { readonly operation: string; readonly timeout: boolean; readonly error: unknown };
  /** The store guard's circuit breaker changed state. */
  breaker: { readonly state: BreakerState };
  /** Keys or prefixes were invalidated, here or (`remote`) in another instance. */
  invalidation: {
    readonly keys: readonly string[];
    readonly prefixes: readonly string[];
    readonly tags?: readonly string[];
    readonly origin: 'local' | 'remote';
  };
  /** The bus reconnected; the L1 tier was emptied. */
  busReconnect: Record<string, never>;
  /**
   * A @WriteBehind write was not queued (the queue is past `maxLength` or `maxLag`, or Redis did not answer): the
   * flush handler ran in the call instead (write-through).
   */
  writeBehindFallback: { readonly policy: string; readonly key: string; readonly reason: 'length' | 'lag' | 'unavailable' };
  /** The flusher handed a batch to a flush handler; `error` is set when the handler threw (the batch is retried). */
  writeBehindFlush: { readonly handler: string; readonly entries: number; readonly writes: number; readonly durationMs: number; readonly error?: unknown };
  /** The flusher moved queue entries whose handler kept failing (`maxDeliveries`) to the dead-letter stream. */
  writeBehindDeadLetter: { readonly handler: string; readonly entries: number; readonly error: string };
  /**
   * A flusher read the write-behind queue (every `sampleInterval`, while someone listens): writes queued, delivered
   * but not acknowledged, age of the oldest in ms (0 when empty), and entries in the dead-letter stream.
   */
  writeBehindQueue: { readonly length: number; readonly pending: number; readonly lagMs: number; readonly deadLetters: number };
}

/** The name of a {@link CacheEventMap} event. */
export type CacheEventType = keyof CacheEventMap;

type Listener<K extends CacheEventType> = (event: CacheEventMap[K]) => void;

/**
 * Typed cache events to subscribe to without touching internals (metrics, logs, tests).
 * Emitting costs a lookup when nobody listens; a listener that throws is logged and never breaks a cache call.
 * @example
 * cacheEvents.on('stale', ({ policy }) => staleCounter.inc({ policy }));
 */
@Injectable()
export class CacheEvents {
  private readonly logger = new Logger('Cache');
  private readonly listeners = new Map<CacheEventType, Array<Listener<CacheEventType>>>();

  /** Subscribes to one event type; returns the function that unsubscribes. */
  on<K extends CacheEventType>(type: K, listener: Listener<K>): () => void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener as Listener<CacheEventType>);
    this.listeners.set(type, list);
    return () => {
      const current = this.listeners.get(type) ?? [];
      this.listeners.set(type, current.filter((candidate) => candidate !== listener));
    };
  }

  /** Whether anyone listens to `type` (lets callers skip building an event nobody reads). */
  has(type: CacheEventType): boolean {
    return (this.listeners.get(type)?.length ?? 0) > 0;
  }

  emit<K extends CacheEventType>(type: K, event: CacheEventMap[K]): void {
    const list = this.listeners.get(type);
    if (!list) return;
    for (const listener of list) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`a "${type}" cache event listener threw: ${(error as Error).message}`);
      }
    }
  }
}
