import * as fc from 'fast-check';
import { decodeEntry, encodeEntry } from '../engine/cache-entry';
import type { CacheCodec } from './codec.interface';
import { JsonCodec } from './json.codec';
import { MsgpackCodec } from './msgpack.codec';

/**
 * Property-based checks: whatever JSON-like value a loader returns (with Dates anywhere) comes back equal from both
 * codecs and from the entry envelope. `__proto__` keys are left out: both codecs refuse them on purpose.
 */

const codecs: Array<[string, CacheCodec]> = [
  ['json', new JsonCodec()],
  ['msgpack', new MsgpackCodec()],
];

const hasProtoKey = (value: unknown): boolean =>
  value !== null &&
  typeof value === 'object' &&
  (Object.prototype.hasOwnProperty.call(value, '__proto__') || Object.values(value).some(hasProtoKey));

/** Both codecs store -0 as 0 (JSON has no -0); everything else must come back as it was. */
const withoutNegativeZero = (value: unknown): unknown => {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutNegativeZero(item)]));
  }
  return value;
};

const jsonValue = fc.jsonValue().filter((value) => !hasProtoKey(value));

/** JSON-like values with valid Dates mixed in, and keys biased towards the codec's own tags and envelope fields. */
const { valueWithDates } = fc.letrec((tie) => ({
  valueWithDates: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string(),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('valueWithDates'), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom('$date', '$escaped', 'v', 'f', 'l')).filter((key) => key !== '__proto__'),
      tie('valueWithDates'),
      { maxKeys: 4 },
    ),
  ),
}));

describe.each(codecs)('%s codec properties', (_name, codec) => {
  it('round-trips any JSON value', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(codec.decode(codec.encode(value))).toEqual(withoutNegativeZero(value));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips JSON-like values with Dates and tag-like keys', () => {
    fc.assert(
      fc.property(valueWithDates, (value) => {
        expect(codec.decode(codec.encode(value))).toEqual(withoutNegativeZero(value));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any such value through the entry envelope', () => {
    fc.assert(
      fc.property(
        fc.oneof(jsonValue, valueWithDates),
        fc.nat(),
        fc.nat({ max: 60_000 }),
        (value, freshUntil, loadMs) => {
          const decoded = decodeEntry(codec, encodeEntry(codec, { value, freshUntil, loadMs }));
          expect(decoded).toEqual({ value: withoutNegativeZero(value), freshUntil, loadMs });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('copies a decoded value, when it can, into an equal value that shares no object with it', () => {
    if (!codec.clone) return; // optional: callers then get decoded copies
    const objects = (value: unknown, found: object[] = []): object[] => {
      if (value !== null && typeof value === 'object') {
        found.push(value);
        Object.values(value).forEach((item) => objects(item, found));
      }
      return found;
    };
    fc.assert(
      fc.property(fc.oneof(jsonValue, valueWithDates), (value) => {
        const decoded = codec.decode(codec.encode(value));
        const copies = [codec.clone!(decoded)];
        const copier = codec.copier?.(decoded);
        if (copier) copies.push(copier(), copier());
        const seen = new Set(objects(decoded));
        for (const copy of copies) {
          expect(copy).toEqual(decoded);
          expect(JSON.stringify(copy)).toBe(JSON.stringify(decoded)); // keys in the same order, too
          const own = objects(copy);
          expect(own.filter((object) => seen.has(object))).toEqual([]);
          own.forEach((object) => seen.add(object));
        }
      }),
      { numRuns: 300 },
    );
  });
});
