import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { JsonCodec } from './json.codec';

const SWC_REGISTER = join(__dirname, '..', '..', '..', '..', 'test', 'support', 'swc-register.js');

const codec = new JsonCodec();
const roundTrip = (value: unknown) => codec.decode(codec.encode(value));

describe('JsonCodec', () => {
  it('is named "json" and stores readable UTF-8 JSON', () => {
    expect(codec.name).toBe('json');
    expect(codec.encode({ id: 'c-1', n: 2 }).toString('utf8')).toBe('{"id":"c-1","n":2}');
  });

  it.each([null, true, 0, -12.5, 'text', 'ünïcödé 🎉', [], {}, [1, 'two', null], { nested: { deep: [{ a: 1 }] } }])(
    'round-trips %j',
    (value) => {
      expect(roundTrip(value)).toEqual(value);
    },
  );

  describe('Dates', () => {
    it('round-trips a Date as a Date with the same instant', () => {
      const date = new Date('2024-11-22T10:11:12.345Z');
      const decoded = roundTrip(date);
      expect(decoded).toBeInstanceOf(Date);
      expect((decoded as Date).getTime()).toBe(date.getTime());
    });

    it('stores a Date as a readable {"$date": ISO} tag', () => {
      expect(codec.encode(new Date(0)).toString('utf8')).toBe('{"$date":"1970-01-01T00:00:00.000Z"}');
    });

    it('round-trips Dates nested in objects and arrays', () => {
      const value = { issuedAt: new Date(1_000), history: [new Date(2_000), { at: new Date(3_000) }], label: 'x' };
      const decoded = roundTrip(value) as typeof value;
      expect(decoded).toEqual(value);
      expect(decoded.issuedAt).toBeInstanceOf(Date);
      expect(decoded.history[0]).toBeInstanceOf(Date);
      expect((decoded.history[1] as { at: Date }).at).toBeInstanceOf(Date);
    });

    it('round-trips an invalid Date as an invalid Date (JSON alone would give null)', () => {
      const decoded = roundTrip({ when: new Date(Number.NaN) }) as { when: Date };
      expect(decoded.when).toBeInstanceOf(Date);
      expect(Number.isNaN(decoded.when.getTime())).toBe(true);
    });

    it('keeps a plain object that happens to look like a Date tag as that object', () => {
      // e.g. MongoDB extended JSON in a cached API response: it must come back as it went in, not as a Date.
      const lookalikes = [
        { $date: '2024-01-01T00:00:00.000Z' },
        { $date: null },
        { $date: 5 },
        { a: { $date: 'x' } },
        { $date: new Date(7) },
        { $escaped: [['$date', 'x']] },
      ];
      for (const value of lookalikes) {
        expect(roundTrip(value)).toEqual(value);
      }
    });
  });

  describe('refuses values JSON would drop or mangle silently', () => {
    it.each([
      ['a function', { load: () => 1 }],
      ['a function in an array', [() => 1]],
      ['a symbol', { s: Symbol('x') }],
      ['a BigInt', { n: 10n }],
      ['a top-level function', () => 1],
    ])('throws on %s', (_label, value) => {
      expect(() => codec.encode(value)).toThrow(TypeError);
    });

    it('throws on a circular structure', () => {
      const value: Record<string, unknown> = { a: 1 };
      value.self = value;
      expect(() => codec.encode(value)).toThrow(TypeError);
    });

    it('throws on an own "__proto__" key rather than store bytes it would refuse to read back', () => {
      const value = JSON.parse('{"__proto__": {"admin": true}}');
      expect(() => codec.encode(value)).toThrow(TypeError);
    });
  });

  describe('decoding', () => {
    it('refuses stored bytes that contain a "__proto__" key, at any depth', () => {
      expect(() => codec.decode(Buffer.from('{"__proto__": {"admin": true}}'))).toThrow('__proto__');
      expect(() => codec.decode(Buffer.from('{"v": [{"__proto__": {"admin": true}}]}'))).toThrow('__proto__');
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });

    it('reads only its own escapes: a foreign {"$escaped": ...} that is not one stays as it is', () => {
      expect(codec.decode(Buffer.from('{"$escaped":[["__proto__",{"admin":true}]]}'))).toEqual({ $escaped: [['__proto__', { admin: true }]] });
      expect(codec.decode(Buffer.from('{"$escaped":"x"}'))).toEqual({ $escaped: 'x' });
    });

    it('throws on bytes that are not JSON', () => {
      expect(() => codec.decode(Buffer.from('{"v":'))).toThrow(SyntaxError);
      expect(() => codec.decode(Buffer.from([0x83, 0xa1, 0x76]))).toThrow(SyntaxError);
    });
  });
});

describe('JsonCodec fast path (no reviver for plain text)', () => {
  const codec = new JsonCodec();

  it('still refuses a "__proto__" key spelled with escape sequences', () => {
    expect(() => codec.decode(Buffer.from('{"__pro\\u0074o__":{"polluted":true}}'))).toThrow('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('still revives a date tag spelled with escape sequences', () => {
    expect(codec.decode(Buffer.from('{"at":{"\\u0024date":"2026-11-22T00:00:00.000Z"}}'))).toEqual({ at: new Date('2026-11-22T00:00:00.000Z') });
  });

  it('decodes plain JSON without tags to the same value as with the reviver', () => {
    const value = { id: 'c1', tags: ['a', 'b'], nested: { n: 1, ok: true, none: null } };
    expect(codec.decode(codec.encode(value))).toEqual(value);
  });

  describe('copier', () => {
    it('copies each value of a shape from its own primitives, though values of one shape share compiled code', () => {
      const shaped = (id: number) => ({ id, name: `n${id}`, at: new Date(id), tags: [`t${id}`, null], nested: { ok: id % 2 === 0 } });
      const first = codec.copier(roundTrip(shaped(1)))!;
      const second = codec.copier(roundTrip(shaped(2)))!;
      expect(first()).toEqual(shaped(1));
      expect(second()).toEqual(shaped(2));
      expect(first()).not.toBe(first());
    });

    it('copies keys that are awkward in source code, in their order', () => {
      const awkward = roundTrip({ '': 1, '"quoted"': 2, 'back\\slash': 3, 'line\u2028sep': 4, '${x}': 5, '10': 6, '2': 7, '01': 8, 'ünï 🎉': 9, constructor: 10 });
      const copy = codec.copier(awkward)!();
      expect(copy).toEqual(awkward);
      expect(Object.keys(copy as object)).toEqual(Object.keys(awkward as object));
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    });

    it('makes no copier for a value with too many nodes or too long a source, and copies primitives as they are', () => {
      expect(codec.copier(roundTrip(Array.from({ length: 3_000 }, (_, index) => index)))).toBeUndefined();
      expect(codec.copier(roundTrip({ ['k'.repeat(20_000)]: 1 }))).toBeUndefined();
      expect(codec.copier(roundTrip({ ['k'.repeat(1_000)]: 1 }))).toBeDefined();
      expect(codec.copier(roundTrip(Array.from({ length: 1_000 }, (_, index) => index)))).toBeDefined();
      expect(codec.copier('text')!()).toBe('text');
    });

    it('makes no copier where the runtime disallows code generation (node --disallow-code-generation-from-strings)', () => {
      const script = `const { JsonCodec } = require(${JSON.stringify(__dirname)} + '/json.codec'); process.stdout.write(String(new JsonCodec().copier({ a: [1] })));`;
      const output = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-r', SWC_REGISTER, '-e', script], { encoding: 'utf8' });
      expect(output).toBe('undefined');
    });

    it('makes no copier for a "__proto__" key, which an object literal would take for the prototype', () => {
      const withProtoKey = JSON.parse('{"a":{"__proto__":{"polluted":true}}}');
      expect(codec.copier(withProtoKey)).toBeUndefined();
    });
  });
});
