import { CacheError, DecodeError, EncodeError } from '../cache.errors';
import type { CacheCodec } from '../serialization/codec.interface';
import { JsonCodec } from '../serialization/json.codec';
import { MsgpackCodec } from '../serialization/msgpack.codec';
import { type CacheEntry, decodeEntry, encodeEntry } from './cache-entry';

const json = new JsonCodec();
const msgpack = new MsgpackCodec();
const entry: CacheEntry = { value: { id: 'c-1', issuedAt: new Date(5_000) }, freshUntil: 1_732_300_000_000, loadMs: 12 };

function thrownBy(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (error) {
    return error as CacheError;
  }
  throw new Error('expected the call to throw');
}

describe('cache entry envelope', () => {
  it('is stored as {v, f, l} with the policy codec, readable in redis-cli for JSON', () => {
    const text = encodeEntry(json, entry).toString('utf8');
    expect(JSON.parse(text)).toEqual({ v: { id: 'c-1', issuedAt: { $date: '1970-01-01T00:00:05.000Z' } }, f: 1_732_300_000_000, l: 12 });
  });

  it.each([
    ['json', json],
    ['msgpack', msgpack],
  ])('round-trips through the %s codec', (_name, codec) => {
    expect(decodeEntry(codec, encodeEntry(codec, entry))).toEqual(entry);
  });

  it.each([null, 0, false, '', []])('keeps a falsy value %p as the value (only undefined is not an entry)', (value) => {
    expect(decodeEntry(json, encodeEntry(json, { value, freshUntil: 1, loadMs: 0 })).value).toEqual(value);
  });

  describe('encodeEntry', () => {
    it('wraps a value the codec refuses in EncodeError naming the codec, keeping the cause', () => {
      const error = thrownBy(() => encodeEntry(json, { value: { n: 1n }, freshUntil: 1, loadMs: 0 }));
      expect(error).toBeInstanceOf(EncodeError);
      expect(error.code).toBe('CACHE_ENCODE_FAILED');
      expect(error.message).toContain('the json codec cannot encode this value');
      expect((error as Error & { cause?: unknown }).cause).toBeInstanceOf(TypeError);
    });

    it('refuses functions under msgpack too', () => {
      expect(() => encodeEntry(msgpack, { value: () => 1, freshUntil: 1, loadMs: 0 })).toThrow(EncodeError);
    });
  });

  describe('decodeEntry rejects what this cache did not write', () => {
    it.each([
      ['a foreign JSON object', '{"a":1}'],
      ['a bare JSON string', '"hello"'],
      ['a number', '42'],
      ['null', 'null'],
      ['an array', '[1,2,3]'],
      ['an envelope without v', '{"f":1,"l":2,"x":3}'],
      ['an envelope with a string f', '{"v":1,"f":"1","l":2}'],
      ['an envelope with an extra field', '{"v":1,"f":1,"l":2,"x":3}'],
      ['a plain string that is not JSON', 'hello'],
    ])('%s', (_label, stored) => {
      const error = thrownBy(() => decodeEntry(json, Buffer.from(stored)));
      expect(error).toBeInstanceOf(DecodeError);
      expect(error.code).toBe('CACHE_DECODE_FAILED');
      expect(error.message).toContain('the json codec cannot decode a stored entry');
    });

    it('msgpack bytes read with the JSON codec', () => {
      expect(() => decodeEntry(json, encodeEntry(msgpack, entry))).toThrow(DecodeError);
    });

    it('JSON bytes read with the msgpack codec', () => {
      expect(() => decodeEntry(msgpack, encodeEntry(json, entry))).toThrow(DecodeError);
    });

    it('a msgpack value that is not an envelope', () => {
      expect(() => decodeEntry(msgpack, msgpack.encode({ a: 1 }))).toThrow(DecodeError);
      expect(() => decodeEntry(msgpack, msgpack.encode('hello'))).toThrow(DecodeError);
    });

    it('truncated bytes of a real entry', () => {
      for (const codec of [json, msgpack]) {
        const bytes = encodeEntry(codec, entry);
        expect(() => decodeEntry(codec, bytes.subarray(0, bytes.length - 1))).toThrow(DecodeError);
      }
    });

    it('a codec of your own that throws is reported under its name', () => {
      const broken: CacheCodec = { name: 'custom', encode: () => Buffer.alloc(0), decode: () => { throw new Error('boom'); } };
      expect(() => decodeEntry(broken, Buffer.alloc(1))).toThrow('the custom codec cannot decode a stored entry: boom');
    });
  });
});
