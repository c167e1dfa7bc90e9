import { LRUCache } from 'lru-cache';
import type { CacheCodec } from '../serialization/codec.interface';
import { type CacheEntry, compactCopy, decodeEntry } from './cache-entry';

/** The most entries the decoder remembers, and the most encoded bytes they may add up to. */
const REMEMBERED_ENTRIES = 1_000;
const REMEMBERED_BYTES = 4 * 2 ** 20;

/** The last bytes decoded under a key, and a decoded copy of them that no caller ever receives. */
interface Kept {
  readonly codec: CacheCodec;
  readonly bytes: Buffer;
  readonly entry: CacheEntry;
}

/** A key read once: only a key read again is worth keeping a copy of (see {@link EntryDecoder}). */
const SEEN = Symbol('seen once');

/**
 * Decodes stored entries, remembering the most recently decoded ones. Most reads of a key return the bytes its last
 * read returned; those get a copy that the codec makes of the remembered value instead of a decode (JSON, 1 KB:
 * about 0.8 µs against 3 µs). Every caller still gets a value of its own, equal to decoding its bytes: decoding is
 * a function of the bytes alone, and the remembered value is a pristine copy never handed out. Codecs without
 * `clone` decode every time.
 *
 * A key's first read only notes that it was read; the copy is kept from its next read on. Keeping a copy costs a
 * copy of the value and of the bytes, which reads spread uniformly over more keys than are remembered would pay on
 * every read and never get back (bench: 5,000 keys read round robin, about 10 % slower when every read kept one).
 *
 * Memory: at most {@link REMEMBERED_ENTRIES} keys, whose kept entries add up to at most {@link REMEMBERED_BYTES}
 * encoded bytes, each held twice (its bytes, and its value as objects on the heap).
 */
export class EntryDecoder {
  private readonly remembered = new LRUCache<string, Kept | typeof SEEN>({
    max: REMEMBERED_ENTRIES,
    maxSize: REMEMBERED_BYTES,
    sizeCalculation: (remembered) => (remembered === SEEN ? 1 : Math.max(1, remembered.bytes.length)),
  });

  /**
   * The entry in `bytes`, read under `key`, as a value of the caller's own.
   * @throws DecodeError for bytes that are corrupt, of another codec, or not an entry of this cache
   */
  decode<T>(key: string, codec: CacheCodec, bytes: Buffer): CacheEntry<T> {
    if (!codec.clone) return decodeEntry<T>(codec, bytes);
    const known = this.remembered.get(key);
    if (known !== undefined && known !== SEEN && known.codec === codec && known.bytes.equals(bytes)) {
      const copy = this.copy<T>(codec, known.entry);
      if (copy) return copy;
    }
    const entry = decodeEntry<T>(codec, bytes);
    if (known === undefined) {
      this.remembered.set(key, SEEN);
      return entry;
    }
    const pristine = this.copy(codec, entry);
    if (pristine) this.remembered.set(key, { codec, bytes: compactCopy(bytes), entry: pristine });
    else this.remembered.delete(key);
    return entry;
  }

  /**
   * A copy the codec makes of a value it decoded, or undefined when it cannot (no `clone`, or a value nested too
   * deeply to copy recursively): the caller then decodes the bytes instead.
   */
  copyValue<T>(codec: CacheCodec, value: unknown): { value: T } | undefined {
    if (!codec.clone) return undefined;
    try {
      return { value: codec.clone(value) as T };
    } catch {
      return undefined;
    }
  }

  /** `entry` with a copy of its value, or undefined when the codec cannot copy it. */
  private copy<T>(codec: CacheCodec, { value, freshUntil, loadMs, tags, formatVersion }: CacheEntry): CacheEntry<T> | undefined {
    const copy = this.copyValue<T>(codec, value);
    return copy && { value: copy.value, freshUntil, loadMs, tags, formatVersion };
  }
}
