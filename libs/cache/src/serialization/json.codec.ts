import type { CacheCodec } from './codec.interface';

const DATE_TAG = '$date';

/**
 * JSON codec: entries stay readable in redis-cli. Dates round-trip (as `{"$date":"<ISO>"}`), values JSON would
 * silently drop or mangle (functions, symbols, BigInt, circular structures) are refused, and `__proto__` keys
 * in stored bytes are refused so a planted entry cannot reach a prototype.
 */
export class JsonCodec implements CacheCodec {
  readonly name = 'json';

  encode(value: unknown): Buffer {
    return Buffer.from(JSON.stringify(value, encodeSpecial), 'utf8');
  }

  decode(bytes: Buffer): unknown {
    return JSON.parse(bytes.toString('utf8'), decodeSpecial);
  }
}

function encodeSpecial(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `value` has already been through Date#toJSON; the holder still has the Date itself.
  const original = this[key];
  if (original instanceof Date) return { [DATE_TAG]: Number.isNaN(original.getTime()) ? null : value };
  const type = typeof value;
  if (type === 'function' || type === 'symbol') {
    throw new TypeError(`a ${type} at key "${key}" cannot be stored as JSON`);
  }
  return value;
}

function decodeSpecial(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new TypeError('entry contains a "__proto__" key');
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (DATE_TAG in record && Object.keys(record).length === 1) {
      const iso = record[DATE_TAG];
      if (iso === null) return new Date(Number.NaN);
      if (typeof iso === 'string') return new Date(iso);
    }
  }
  return value;
}
