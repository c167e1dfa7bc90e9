import type { Redis } from 'ioredis';
import { NoRedisError } from '../cache.errors';
import type { CacheEngine } from '../engine/cache-engine';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import type { CacheConnections } from '../stores/cache-connections';
import { decodeWrite, fieldText, streamFields } from './write-behind.entry';
import type { WriteBehindWrite } from './write-behind.handler';
import type { WriteBehindHandlers } from './write-behind.handlers';
import type { WriteBehindKeys } from './write-behind.keys';

/**
 * Reading and replaying the dead-letter stream: writes the flusher gave up on after `maxDeliveries`, kept with their
 * original queue id. A replay hands each one to its handler with that original version, so a version-checking
 * handler applies it only where nothing newer reached the database meanwhile; then the dead letter is deleted and
 * the key's cached value dropped, so the next read sees what the database now holds (or a newer queued write).
 */

/** One write the flusher moved to the dead-letter stream. */
export interface WriteBehindDeadLetter {
  /** Its id in the dead-letter stream (what `replayDeadLetters` and `XDEL` take); not the write's version. */
  readonly id: string;
  /** The flush handler that kept failing. */
  readonly handler: string;
  /** The write as the handler was given it, with its original version; undefined when its value no longer decodes. */
  readonly write: WriteBehindWrite | undefined;
  /** How many times it was handed to a flusher before it was moved. */
  readonly deliveries: number;
  /** The last error its handler (or decoding) reported, as far as the flusher that moved it knew. */
  readonly error: string;
}

/** Dead letters read per round trip. */
const PAGE = 100;

export class WriteBehindDeadLetters {
  constructor(
    private readonly options: NormalizedCacheOptions,
    private readonly connections: CacheConnections,
    private readonly handlers: WriteBehindHandlers,
    private readonly engine: CacheEngine,
    private readonly keys: WriteBehindKeys,
  ) {}

  /** Up to `count` dead letters, oldest first. */
  async list(count: number): Promise<WriteBehindDeadLetter[]> {
    return (await this.range('-', count)).map(({ letter }) => letter);
  }

  /**
   * Replays the dead letters `ids` (default: all, oldest first), one write per handler call. Stops at the first
   * failure, which rejects; the ones replayed before it are gone from the stream.
   * @returns how many were replayed
   */
  async replay(ids?: readonly string[]): Promise<number> {
    let replayed = 0;
    for await (const { letter, entryKey, fields } of this.select(ids)) {
      const handler = this.handlers.require(letter.handler, `replaying dead letter ${letter.id}`);
      // Decoded again rather than taken from `letter`, so that an undecodable value rejects with its reason.
      const write = decodeWrite(this.options.policies, fields, fieldText(fields, 'id'));
      await handler([write]);
      await this.client().xdel(this.keys.deadLetters, letter.id);
      await this.engine.delete([entryKey]);
      replayed++;
    }
    return replayed;
  }

  private async *select(ids: readonly string[] | undefined): AsyncGenerator<{ letter: WriteBehindDeadLetter; entryKey: string; fields: Map<string, Buffer> }> {
    if (ids) {
      for (const id of ids) yield* await this.range(id, 1, id);
      return;
    }
    // Replayed letters are deleted, so each page starts after the last one read (exclusive), never skipping any.
    let start = '-';
    for (;;) {
      const page = await this.range(start, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      start = `(${page[page.length - 1].letter.id}`;
    }
  }

  private async range(start: string, count: number, end = '+') {
    const entries = await this.client().xrangeBuffer(this.keys.deadLetters, start, end, 'COUNT', count);
    return entries.map(([rawId, list]) => {
      const fields = streamFields(list);
      let write: WriteBehindWrite | undefined;
      try {
        write = decodeWrite(this.options.policies, fields, fieldText(fields, 'id'));
      } catch {
        write = undefined;
      }
      const letter: WriteBehindDeadLetter = {
        id: rawId.toString(),
        handler: fieldText(fields, 'h'),
        write,
        deliveries: Number(fieldText(fields, 'deliveries')),
        error: fieldText(fields, 'error'),
      };
      return { letter, entryKey: fieldText(fields, 'k'), fields };
    });
  }

  private client(): Redis {
    const client = this.connections.redis?.client;
    if (!client || client.isCluster) throw new NoRedisError('write-behind dead letters live on a single-node Redis, and this module has none');
    return client as Redis;
  }
}
