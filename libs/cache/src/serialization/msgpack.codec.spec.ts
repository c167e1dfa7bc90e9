import { MsgpackCodec } from './msgpack.codec';

const codec = new MsgpackCodec();
const roundTrip = (value: unknown) => codec.decode(codec.encode(value));

describe('MsgpackCodec', () => {
  it('is named "msgpack" and is binary, not JSON', () => {
    expect(codec.name).toBe('msgpack');
    const bytes = codec.encode({ a: 1 });
    expect([0xde, 0xdf, 0x81]).toContain(bytes[0]); // a MessagePack map header
    expect(() => JSON.parse(bytes.toString('utf8'))).toThrow();
  });

  it.each([null, true, 0, 42, -12.5, 2 ** 40, 'text', 'ünïcödé 🎉', [], {}, [1, 'two', null], { nested: { deep: [{ a: 1 }] } }])(
    'round-trips %j',
    (value) => {
      expect(roundTrip(value)).toEqual(value);
    },
  );

  it('round-trips Dates natively, also nested and in arrays', () => {
    const value = { at: new Date('2024-11-22T10:11:12.345Z'), list: [new Date(0), { when: new Date(-86_400_000) }] };
    const decoded = roundTrip(value) as typeof value;
    expect(decoded).toEqual(value);
    expect(decoded.at).toBeInstanceOf(Date);
    expect(decoded.list[0]).toBeInstanceOf(Date);
  });

  it('round-trips byte arrays', () => {
    expect(Buffer.from(roundTrip(Buffer.from([1, 2, 3])) as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
  });

  describe('refuses values it would mangle silently', () => {
    it.each([
      ['a function', { load: () => 1 }],
      ['a function in an array', [1, () => 1]],
      ['a deeply nested function', { a: { b: [{ c: () => 1 }] } }],
      ['a symbol', { s: Symbol('x') }],
      ['a top-level function', () => 1],
    ])('throws on %s', (_label, value) => {
      expect(() => codec.encode(value)).toThrow(TypeError);
    });

    it('throws on a circular structure, directly or through an array', () => {
      const direct: Record<string, unknown> = {};
      direct.self = direct;
      const viaArray: Record<string, unknown> = {};
      viaArray.items = [{ parent: viaArray }];
      expect(() => codec.encode(direct)).toThrow(/circular/);
      expect(() => codec.encode(viaArray)).toThrow(/circular/);
    });

    it('accepts the same object twice when it is shared, not circular', () => {
      const shared = { id: 1 };
      expect(roundTrip({ a: shared, b: [shared] })).toEqual({ a: { id: 1 }, b: [{ id: 1 }] });
    });

    it('throws on an own "__proto__" key (msgpackr would rename it and the value would not round-trip)', () => {
      const value = JSON.parse('{"__proto__": {"admin": true}, "a": 1}');
      expect(() => codec.encode(value)).toThrow(TypeError);
    });
  });

  describe('decoding', () => {
    it('fails on truncated bytes', () => {
      const bytes = codec.encode({ v: { id: 'c-1', tags: ['a', 'b'] }, f: 1, l: 2 });
      for (const length of [1, 2, Math.floor(bytes.length / 2), bytes.length - 1]) {
        expect(() => codec.decode(bytes.subarray(0, length))).toThrow();
      }
    });

    it('fails on JSON bytes (extra data after the first value)', () => {
      expect(() => codec.decode(Buffer.from('{"v":1,"f":2,"l":3}'))).toThrow();
    });

    it('never lets a stored "__proto__" key reach a prototype', () => {
      // A map with the key "__proto__" written by some other msgpack writer.
      const planted = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa5]), Buffer.from('admin'), Buffer.from([0xc3])]);
      const decoded = codec.decode(planted) as Record<string, unknown>;
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
      expect(decoded.admin).toBeUndefined();
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });
  });
});
