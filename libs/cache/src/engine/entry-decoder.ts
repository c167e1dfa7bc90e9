import { LRUCache } from 'lru-cache';
import type { CacheCodec } from '../serialization/codec.interface';
import { type CacheEntry, compactCopy, decodeEntry } from './cache-entry';

/** The most entries the decoder remembers, and the most encoded bytes they may add up to. */
const REMEMBERED_ENTRIES = 1_000;
const REMEMBERED_BYTES = 4 * 2 ** 20;

/**
 * The last bytes decoded under a key, and their decoded entry, deeply frozen: callers of immutable policies share
 * it, every other caller gets a copy of it.
 */
interface Kept {
  readonly codec: CacheCodec;
  readonly bytes: Buffer;
  readonly entry: CacheEntry;
  /** A copy of the value made ahead of the read that will take it (see {@link EntryDecoder.prepareCopy}). */
  prepared?: { value: unknown };
  /** Copies made of the value so far, until {@link copier} is asked for. */
  copies: number;
  /** The codec's compiled copier of the value, once it has been copied {@link COPIES_BEFORE_COMPILING} times (null: none). */
  copier?: (() => unknown) | null;
}

/**
 * How often a kept value is copied before the codec compiles a copier for it: compiling costs about as much as 40
 * copies, and most of what a process reads hot is read far more often than that.
 */
const COPIES_BEFORE_COMPILING = 32;

/** A key read once: only a key read again is worth keeping a copy of (see {@link EntryDecoder}). */
const SEEN = Symbol('seen once');

/**
 * Decodes stored entries, remembering the most recently decoded ones. Most reads of a key return the bytes its last
 * read returned; those get a copy that the codec makes of the remembered value instead of a decode (JSON, 1 KB:
 * about 0.8 µs against 3 µs). Every caller still gets a value of its own, equal to decoding its bytes: decoding is
 * a function of the bytes alone, and the remembered value is frozen, so no caller can change it. Codecs without
 * `clone` decode every time. A value copied {@link COPIES_BEFORE_COMPILING} times is copied from then on by the
 * codec's compiled `copier`, where it has one (JSON, 1 KB: about 0.06 µs).
 *
 * A key's first read only notes that it was read; the copy is kept from its next read on. Keeping a copy costs a
 * copy of the value and of the bytes, which reads spread uniformly over more keys than are remembered would pay on
 * every read and never get back (bench: 5,000 keys read round robin, about 10 % slower when every read kept one).
 *
 * Reads `shared` (immutable policies) skip the copy: each gets the remembered, frozen value itself, kept from the
 * key's first read on (it costs them a freeze and a copy of the bytes, no copy of the value).
 *
 * A read can have its copy made while it waits for the store ({@link prepareCopy}): the copy then costs the caller no
 * time once the reply is in.
 *
 * Memory: at most {@link REMEMBERED_ENTRIES} keys, whose kept entries add up to at most {@link REMEMBERED_BYTES}
 * encoded bytes, each held twice (its bytes, and its value as objects on the heap), plus a prepared copy of the value
 * for each key whose read is waiting for the store, and for a value with a compiled copier, the array of its
 * primitives (the code itself is shared by values of one shape, at most 256 shapes).
 */
export class EntryDecoder {
  private readonly remembered = new LRUCache<string, Kept | typeof SEEN>({
    max: REMEMBERED_ENTRIES,
    maxSize: REMEMBERED_BYTES,
    sizeCalculation: (remembered) => (remembered === SEEN ? 1 : Math.max(1, remembered.bytes.length)),
  });
  /** Keys whose copy {@link prepareCopy} is to make. */
  private toPrepare: Array<{ key: string; codec: CacheCodec }> = [];

  /**
   * The entry in `bytes`, read under `key`: a value of the caller's own, or with `shared`, the deeply frozen value
   * that every shared read of these bytes in this process receives.
   * @throws DecodeError for bytes that are corrupt, of another codec, or not an entry of this cache
   */
  decode<T>(key: string, codec: CacheCodec, bytes: Buffer, shared = false): CacheEntry<T> {
    if (!codec.clone && !shared) return decodeEntry<T>(codec, bytes);
    const known = this.remembered.get(key);
    if (keeps(known, codec, bytes)) {
      if (shared) return known.entry as CacheEntry<T>;
      const copy = known.prepared ?? this.copyOfKept(known);
      known.prepared = undefined;
      if (copy) return withValue<T>(known.entry, copy.value);
    }
    const entry = decodeEntry<T>(codec, bytes);
    if (shared) {
      this.keep(key, codec, bytes, entry);
      return entry;
    }
    if (known === undefined) {
      this.remembered.set(key, SEEN);
      return entry;
    }
    const pristine = this.copy(codec, entry);
    if (pristine) this.keep(key, codec, bytes, pristine);
    else this.remembered.delete(key);
    return entry;
  }

  /**
   * Copies the value remembered for `key`, once the reactions already queued have run, for its next {@link decode},
   * which takes that copy if the bytes it gets are the remembered ones. Called as a read of the key goes out, it
   * spends the time the read waits for the store, which is otherwise idle on the caller's path: the copy is made once
   * either way. Does nothing for a `shared` read (see {@link decode}), when there is nothing to copy, or when a copy
   * is waiting already.
   */
  prepareCopy(key: string, codec: CacheCodec, shared: boolean): void {
    if (shared || !codec.clone) return;
    // One microtask for all the reads that start together: a microtask per read cost about 2 % of the throughput of
    // 100 concurrent callers.
    if (this.toPrepare.length === 0) queueMicrotask(() => this.prepareQueued());
    this.toPrepare.push({ key, codec });
  }

  private prepareQueued(): void {
    const queued = this.toPrepare;
    this.toPrepare = [];
    for (const { key, codec } of queued) {
      const known = this.remembered.peek(key);
      if (isKept(known) && known.codec === codec && !known.prepared) known.prepared = this.copyOfKept(known);
    }
  }

  /**
   * A copy of `value`, decoded from `bytes` under `key` (for callers who share a read): made like the copies of the
   * kept entry when these are its bytes, else by the codec; undefined when the codec cannot copy it.
   */
  copyOf<T>(key: string, codec: CacheCodec, bytes: Buffer | undefined, value: unknown): { value: T } | undefined {
    const known = this.remembered.peek(key);
    if (bytes && keeps(known, codec, bytes)) return this.copyOfKept(known) as { value: T } | undefined;
    return this.copyValue<T>(codec, value);
  }

  /**
   * Whether `value` is the frozen value that shared reads of `key` receive: false for a value {@link decode} returned
   * without keeping it (nested too deeply to freeze, or too large to remember), which only its first caller may have.
   */
  isShared(key: string, value: unknown): boolean {
    const known = this.remembered.peek(key);
    return isKept(known) && known.entry.value === value;
  }

  /**
   * A copy the codec makes of a value it decoded, or undefined when it cannot (no `clone`, or a value nested too
   * deeply to copy recursively): the caller then decodes the bytes instead.
   */
  private copyValue<T>(codec: CacheCodec, value: unknown): { value: T } | undefined {
    if (!codec.clone) return undefined;
    try {
      return { value: codec.clone(value) as T };
    } catch {
      return undefined;
    }
  }

  /** Freezes `entry`'s value and remembers it for `key`; forgets the key when the value is nested too deeply to freeze. */
  private keep(key: string, codec: CacheCodec, bytes: Buffer, entry: CacheEntry): void {
    try {
      deepFreeze(entry.value);
    } catch {
      this.remembered.delete(key);
      return;
    }
    this.remembered.set(key, { codec, bytes: compactCopy(bytes), entry, copies: 0 });
  }

  /** A copy of a kept value: by the codec's compiled copier once the value has proved hot, else by `clone`. */
  private copyOfKept(known: Kept): { value: unknown } | undefined {
    if (known.copier === undefined && ++known.copies >= COPIES_BEFORE_COMPILING) {
      known.copier = known.codec.copier?.(known.entry.value) ?? null;
    }
    if (known.copier) return { value: known.copier() };
    return this.copyValue(known.codec, known.entry.value);
  }

  /** `entry` with a copy of its value, or undefined when the codec cannot copy it. */
  private copy<T>(codec: CacheCodec, entry: CacheEntry): CacheEntry<T> | undefined {
    const copy = this.copyValue<T>(codec, entry.value);
    return copy && withValue<T>(entry, copy.value);
  }
}

/** Whether a key's remembered state is a kept entry (rather than nothing, or a first read only noted). */
function isKept(remembered: Kept | typeof SEEN | undefined): remembered is Kept {
  return remembered !== undefined && remembered !== SEEN;
}

/** Whether a key's remembered state is the kept entry of `bytes`, as `codec` decoded them. */
function keeps(remembered: Kept | typeof SEEN | undefined, codec: CacheCodec, bytes: Buffer): remembered is Kept {
  return isKept(remembered) && remembered.codec === codec && remembered.bytes.equals(bytes);
}

/** `entry` with another value. */
function withValue<T>({ freshUntil, loadMs, tags, formatVersion }: CacheEntry, value: unknown): CacheEntry<T> {
  return { value: value as T, freshUntil, loadMs, tags, formatVersion };
}

/**
 * Freezes plain objects and arrays all the way down. What Object.freeze cannot make read-only (a Date's time, a Map's
 * or Set's content, binary data) is left as it is.
 * @throws RangeError for a value nested too deeply to walk recursively
 */
function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}
