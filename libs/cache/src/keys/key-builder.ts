import { createHash } from 'node:crypto';
import { InvalidKeyError } from '../cache.errors';

/** One part of a cache key. Objects (e.g. a query DTO) are serialised with sorted keys and hashed. */
export type KeyPart = string | number | boolean | bigint | Date | null | undefined | object;

/**
 * What a key function may return: a list of parts (each one made safe on its own, the safest form), or a
 * string whose ':'-separated segments are each made safe.
 */
export type KeyResult = string | readonly KeyPart[];

/** Characters a key segment may hold as-is; anything else (spaces, newlines, `*`, `:`, unicode) is hashed. */
const SAFE_SEGMENT = /^[A-Za-z0-9_.\-@+=]+$/;
/** Segments longer than this are hashed too, so one argument cannot blow up key length. */
const MAX_SEGMENT_LENGTH = 64;
const READABLE_PREFIX_LENGTH = 12;

/**
 * Makes one key segment safe: returned unchanged when it holds only safe characters and is short, else replaced
 * by `<readable prefix>~<128-bit SHA-256 prefix>`. Safe segments never contain `~`, so a hashed segment can never
 * equal a plain one.
 */
export function safeSegment(raw: string): string {
  if (raw.length > 0 && raw.length <= MAX_SEGMENT_LENGTH && SAFE_SEGMENT.test(raw)) return raw;
  return hashSegment(raw);
}

function hashSegment(raw: string): string {
  const readable = raw.replace(/[^A-Za-z0-9_.\-@+=]/g, '').slice(0, READABLE_PREFIX_LENGTH);
  return `${readable}~${createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, 32)}`;
}

/** Renders one part as a segment. `null` and `undefined` get reserved spellings that no string part can produce. */
export function partToSegment(part: KeyPart): string {
  switch (typeof part) {
    case 'string':
      return safeSegment(part);
    case 'number':
    case 'boolean':
    case 'bigint':
      return safeSegment(String(part));
    case 'undefined':
      return '~undefined';
    case 'object':
      if (part === null) return '~null';
      if (part instanceof Date) return safeSegment(String(part.getTime()));
      return hashSegment(stableStringify(part));
    default:
      throw new InvalidKeyError(`a ${typeof part} cannot be part of a cache key`);
  }
}

/** Turns a key function's result into the safe, relative key (without namespace). */
export function renderKey(result: KeyResult): string {
  if (typeof result === 'string') {
    if (result.length === 0) throw new InvalidKeyError('a cache key must not be empty');
    return result.split(':').map(safeSegment).join(':');
  }
  if (Array.isArray(result)) {
    if (result.length === 0) throw new InvalidKeyError('a cache key must have at least one part');
    return result.map(partToSegment).join(':');
  }
  throw new InvalidKeyError(`a key function must return a string or an array of parts, got ${typeof result}`);
}

/**
 * Where a call's keys live: the namespace, or with a tenant `<namespace>:~t.<tenant>` (a segment no user key can
 * produce, since plain segments never start with `~`).
 */
export function keyScope(namespace: string, tenant: string | undefined): string {
  return tenant === undefined ? namespace : `${namespace}:~t.${safeSegment(tenant)}`;
}

/**
 * Prefixes a relative key with the namespace. When the whole key would be longer than `maxKeyLength`, keeps as many
 * leading segments as fit (so prefix eviction of a group such as `user:42` still reaches the key) and replaces the
 * rest by `~~<128-bit SHA-256 prefix of the whole relative key>`. No rendered segment contains `~~`, so an over-long
 * key can never land on the key of another call. Never longer than `maxKeyLength` when that is at least the
 * namespace length + 64 (what normalizeCacheOptions enforces).
 */
export function qualifyKey(namespace: string, relativeKey: string, maxKeyLength: number): string {
  const key = `${namespace}:${relativeKey}`;
  if (key.length <= maxKeyLength) return key;
  const tail = `~~${createHash('sha256').update(relativeKey, 'utf8').digest('hex').slice(0, 32)}`;
  let head = namespace;
  for (const segment of relativeKey.split(':').slice(0, -1)) {
    if (head.length + segment.length + tail.length + 2 > maxKeyLength) break;
    head += `:${segment}`;
  }
  return `${head}:${tail}`;
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` give the same key. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return typeof item === 'bigint' ? item.toString() : item;
    }
    const sorted: Record<string, unknown> = {};
    for (const name of Object.keys(item as object).sort()) sorted[name] = (item as Record<string, unknown>)[name];
    return sorted;
  });
}
