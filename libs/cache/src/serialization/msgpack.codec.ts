import { Packr } from 'msgpackr';
import type { CacheCodec } from './codec.interface';

/**
 * MessagePack codec (msgpackr): smaller and faster than JSON for large values, Dates native. msgpackr would
 * silently encode functions as undefined and rename a `__proto__` key, so values are checked first; truncated bytes
 * fail to decode.
 */
export class MsgpackCodec implements CacheCodec {
  readonly name = 'msgpack';
  private readonly packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

  encode(value: unknown): Buffer {
    assertStorable(value, new Set());
    return this.packr.pack(value);
  }

  decode(bytes: Buffer): unknown {
    // msgpackr itself renames a stored "__proto__" key, so decoded maps cannot reach a prototype.
    return this.packr.unpack(bytes);
  }
}

function assertStorable(value: unknown, seen: Set<object>): void {
  const type = typeof value;
  if (type === 'function' || type === 'symbol') throw new TypeError(`a ${type} cannot be stored as msgpack`);
  if (value === null || type !== 'object' || value instanceof Date || ArrayBuffer.isView(value)) return;
  if (seen.has(value as object)) throw new TypeError('circular structure cannot be stored as msgpack');
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) throw new TypeError('a "__proto__" key cannot be stored as msgpack');
  seen.add(value as object);
  for (const item of Object.values(value as object)) assertStorable(item, seen);
  seen.delete(value as object);
}
