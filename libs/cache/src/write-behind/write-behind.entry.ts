import { decodeEntry } from '../engine/cache-entry';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import type { WriteBehindWrite } from './write-behind.handler';
import { versionOf } from './write-behind.keys';

/**
 * One queued write as the queue and the dead-letter stream hold it, and back as its handler gets it. Fields, as the
 * queue script writes them: `k` cache key, `r` key as the decorator built it, `h` handler, `p` policy, `t` tenant
 * ('' for none), `v` the cache entry's bytes.
 */

/** A stream entry's flat field list, by name. */
export function streamFields(list: readonly Buffer[]): Map<string, Buffer> {
  const fields = new Map<string, Buffer>();
  for (let i = 0; i + 1 < list.length; i += 2) fields.set(list[i].toString(), list[i + 1]);
  return fields;
}

/** One field as text ('' when absent). */
export function fieldText(fields: ReadonlyMap<string, Buffer>, name: string): string {
  return fields.get(name)?.toString() ?? '';
}

/**
 * The write the entry `id` (a queue id: the write's version) holds.
 * @throws when the policy is unknown or the value no longer decodes
 */
export function decodeWrite(policies: NormalizedCacheOptions['policies'], fields: ReadonlyMap<string, Buffer>, id: string): WriteBehindWrite {
  const policy = policies.resolve(fieldText(fields, 'p'));
  const value = decodeEntry(policy.codec, fields.get('v') ?? Buffer.alloc(0)).value;
  const tenant = fieldText(fields, 't');
  return { key: fieldText(fields, 'r'), value, version: versionOf(id), id, ...(tenant ? { tenant } : {}) };
}
