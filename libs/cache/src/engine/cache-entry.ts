import { DecodeError, EncodeError } from '../cache.errors';
import type { CacheCodec } from '../serialization/codec.interface';

/**
 * The envelope stored for every entry: the value plus what the engine needs to judge it. Encoded with the policy's
 * codec, so a JSON entry stays readable in redis-cli: `{"v":{...},"f":1732300000000,"l":12}`, plus
 * `"g":{"<tag>":<version>}` for an entry that carries tags and `"x":"<format version>"` when the module sets one.
 */
export interface CacheEntry<T = unknown> {
  readonly value: T;
  /** Epoch milliseconds after which the entry is no longer fresh. */
  readonly freshUntil: number;
  /** How long the loader took to produce the value, in milliseconds. */
  readonly loadMs: number;
  /** The entry's tags and each tag's version when the entry was filled; a newer version makes it a miss. */
  readonly tags?: Readonly<Record<string, number>>;
  /** The module's `formatVersion` when the entry was written; an entry of another version is never read. */
  readonly formatVersion?: string;
}

interface EncodedEnvelope {
  v: unknown;
  f: number;
  l: number;
  g?: Record<string, number>;
  x?: string;
}

/** Encodes an entry; throws {@link EncodeError} when the codec refuses the value. */
export function encodeEntry(codec: CacheCodec, entry: CacheEntry): Buffer {
  const envelope: EncodedEnvelope = { v: entry.value, f: entry.freshUntil, l: entry.loadMs };
  if (entry.tags) envelope.g = { ...entry.tags };
  if (entry.formatVersion !== undefined) envelope.x = entry.formatVersion;
  try {
    return codec.encode(envelope);
  } catch (error) {
    throw new EncodeError(codec.name, error);
  }
}

/**
 * Decodes stored bytes; throws {@link DecodeError} for bytes that are corrupt, of another codec, or not an envelope
 * of this library (a foreign writer's value under the same key).
 */
export function decodeEntry<T>(codec: CacheCodec, bytes: Buffer): CacheEntry<T> {
  let envelope: unknown;
  try {
    envelope = codec.decode(bytes);
  } catch (error) {
    throw new DecodeError(codec.name, error);
  }
  if (!isEnvelope(envelope)) throw new DecodeError(codec.name, 'not an entry written by this cache');
  // One object shape for every entry (absent fields undefined), so the engine's hot path stays monomorphic.
  return { value: envelope.v as T, freshUntil: envelope.f, loadMs: envelope.l, tags: envelope.g, formatVersion: envelope.x };
}

function isEnvelope(candidate: unknown): candidate is EncodedEnvelope {
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) return false;
  const envelope = candidate as Record<string, unknown>;
  const optional = (envelope.g === undefined ? 0 : 1) + (envelope.x === undefined ? 0 : 1);
  return (
    Object.prototype.hasOwnProperty.call(envelope, 'v') &&
    typeof envelope.f === 'number' &&
    typeof envelope.l === 'number' &&
    (envelope.g === undefined || isTagVersions(envelope.g)) &&
    (envelope.x === undefined || typeof envelope.x === 'string') &&
    Object.keys(envelope).length === 3 + optional
  );
}

function isTagVersions(candidate: unknown): boolean {
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) return false;
  return Object.values(candidate).every((version) => typeof version === 'number');
}

/**
 * The bytes in memory of their own. Small Buffers are slices of shared slabs (Node's 8 KiB pool, a socket's read
 * chunk); an L1 entry holding a slice keeps the whole slab alive, which doubled L1's memory per entry (measured).
 */
export function compactCopy(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
