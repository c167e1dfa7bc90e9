import * as fc from 'fast-check';
import { InvalidKeyError } from '../cache.errors';
import { partToSegment, qualifyKey, renderKey, safeSegment } from './key-builder';

/** Every character a rendered key may contain; anything else would have to be escaped in redis-cli or SCAN patterns. */
const KEY_CHARSET = /^[A-Za-z0-9_.\-@+=~:]+$/;
/** The hashed form of a segment: up to 12 readable characters, '~', 32 hex digits. */
const HASHED = /^[A-Za-z0-9_.\-@+=]{0,12}~[0-9a-f]{32}$/;

describe('safeSegment', () => {
  it.each(['credential', 'c-1', 'user_42', 'a.b', 'me@example.com', 'a+b=c', '0', 'x'.repeat(64)])('keeps %p as it is', (raw) => {
    expect(safeSegment(raw)).toBe(raw);
  });

  it.each([
    ['a space', 'two words'],
    ['a newline', 'line\nbreak'],
    ['a glob star', 'user*'],
    ['a separator', 'a:b'],
    ['a glob question mark', 'who?'],
    ['a glob class', 'id[0]'],
    ['unicode', 'Zürich'],
    ['an emoji', 'party🎉'],
    ['a tilde', 'a~b'],
    ['the empty string', ''],
    ['65 safe characters', 'x'.repeat(65)],
    ['a 10 kB string', 'k'.repeat(10_240)],
  ])('hashes a segment with %s', (_label, raw) => {
    const segment = safeSegment(raw);
    expect(segment).not.toBe(raw);
    expect(segment).toMatch(HASHED);
  });

  it('keeps a readable prefix of the safe characters in the hashed form', () => {
    expect(safeSegment('Zürich office').startsWith('Zrichoffice~')).toBe(true);
    expect(safeSegment('user*')).toMatch(/^user~/);
  });

  it('is deterministic and tells apart strings that share their readable prefix', () => {
    expect(safeSegment('a b')).toBe(safeSegment('a b'));
    expect(safeSegment('a b')).not.toBe(safeSegment('a\nb'));
    expect(safeSegment('a b')).not.toBe(safeSegment('ab'));
  });
});

describe('partToSegment', () => {
  it('renders numbers, booleans, bigints and Dates as plain segments', () => {
    expect(partToSegment(42)).toBe('42');
    expect(partToSegment(true)).toBe('true');
    expect(partToSegment(10n)).toBe('10');
    expect(partToSegment(new Date(1_700_000_000_000))).toBe('1700000000000');
  });

  it('gives null and undefined reserved spellings that no string part can produce', () => {
    expect(partToSegment(null)).toBe('~null');
    expect(partToSegment(undefined)).toBe('~undefined');
    expect(partToSegment('null')).toBe('null');
    expect(partToSegment('~null')).not.toBe('~null');
    expect(partToSegment('~undefined')).not.toBe('~undefined');
  });

  it('hashes objects stably, whatever the order of their keys', () => {
    const a = partToSegment({ page: 2, filter: { status: 'active', org: 'o1' } });
    const b = partToSegment({ filter: { org: 'o1', status: 'active' }, page: 2 });
    expect(a).toBe(b);
    expect(a).toMatch(HASHED);
    expect(partToSegment({ page: 3, filter: { status: 'active', org: 'o1' } })).not.toBe(a);
  });

  it('hashes arrays in order', () => {
    expect(partToSegment([1, 2])).not.toBe(partToSegment([2, 1]));
  });

  it('refuses functions and symbols', () => {
    expect(() => partToSegment((() => 1) as unknown as object)).toThrow(InvalidKeyError);
    expect(() => partToSegment(Symbol('x') as unknown as object)).toThrow(InvalidKeyError);
  });
});

describe('renderKey', () => {
  it('joins parts with ":" and makes each part safe on its own', () => {
    expect(renderKey(['credential', 'c-1'])).toBe('credential:c-1');
    const key = renderKey(['user', 'a:b']);
    expect(key.split(':')).toHaveLength(2);
    expect(key.split(':')[1]).toMatch(HASHED);
  });

  it('treats ":" in a string key as a separator and makes each segment safe', () => {
    expect(renderKey('credential:c-1')).toBe('credential:c-1');
    const [entity, id] = renderKey('user:two words').split(':');
    expect(entity).toBe('user');
    expect(id).toMatch(HASHED);
  });

  it('renders null and undefined parts distinctly', () => {
    expect(renderKey(['user', null])).toBe('user:~null');
    expect(renderKey(['user', undefined])).toBe('user:~undefined');
  });

  it('rejects empty keys and results that are not keys', () => {
    expect(() => renderKey('')).toThrow(InvalidKeyError);
    expect(() => renderKey([])).toThrow(InvalidKeyError);
    expect(() => renderKey(42 as unknown as string)).toThrow(InvalidKeyError);
  });

  describe('properties', () => {
    it('any string, as a part or as a string key, renders to the key character set', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', minLength: 1 }), (part, stringKey) => {
          expect(renderKey(['entity', part])).toMatch(KEY_CHARSET);
          expect(renderKey(stringKey)).toMatch(KEY_CHARSET);
        }),
        { numRuns: 500 },
      );
    });

    it('distinct single-part inputs give distinct keys (hashed forms never equal plain ones)', () => {
      const hostileOrPlain = fc.oneof(fc.string({ unit: 'binary' }), fc.stringMatching(/^[A-Za-z0-9_.\-@+=~]{1,70}$/));
      fc.assert(
        fc.property(hostileOrPlain, hostileOrPlain, (a, b) => {
          fc.pre(a !== b);
          expect(renderKey([a])).not.toBe(renderKey([b]));
          expect(renderKey(['user', a])).not.toBe(renderKey(['user', b]));
        }),
        { numRuns: 1_000 },
      );
    });

    it('a plain segment and the hashed form of another string never collide', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (raw) => {
          const segment = safeSegment(raw);
          // A segment is either the input itself (no '~' in it) or a hash (exactly one '~').
          if (segment === raw) expect(segment).not.toContain('~');
          else expect(segment).toMatch(HASHED);
        }),
        { numRuns: 500 },
      );
    });
  });
});

describe('qualifyKey', () => {
  it('prefixes the namespace', () => {
    expect(qualifyKey('app', 'credential:c-1', 200)).toBe('app:credential:c-1');
  });

  it('leaves a key of exactly the maximum length alone', () => {
    const relative = `e:${'x'.repeat(60)}`;
    const key = qualifyKey('app', relative, `app:${relative}`.length);
    expect(key).toBe(`app:${relative}`);
  });

  it('hashes an over-long key to at most maxKeyLength, keeping the namespace and the entity', () => {
    const relative = ['credential', ...Array.from({ length: 5 }, (_, i) => `${i}`.repeat(60))].join(':');
    const key = qualifyKey('app', relative, 200);
    expect(key.length).toBeLessThanOrEqual(200);
    expect(key.startsWith('app:credential:')).toBe(true);
    expect(key).toMatch(KEY_CHARSET);
    expect(qualifyKey('app', relative, 200)).toBe(key);
    expect(qualifyKey('app', `${relative}x`, 200)).not.toBe(key);
  });

  it('stays under the limit even at the smallest allowed maxKeyLength and with a 64-character entity', () => {
    // normalizeCacheOptions allows maxKeyLength = namespace length + 64.
    const namespace = 'app';
    const max = namespace.length + 64;
    for (const relative of [`${'e'.repeat(64)}:${'x'.repeat(64)}`, 'e'.repeat(64), `a:${'x'.repeat(64)}:${'y'.repeat(64)}`]) {
      const key = qualifyKey(namespace, relative, max);
      expect(key.length).toBeLessThanOrEqual(max);
      expect(key.startsWith(`${namespace}:`)).toBe(true);
    }
  });

  it('stays under the limit with a long namespace at the default maxKeyLength', () => {
    const namespace = 'n'.repeat(136); // 136 + 64 = 200, the smallest limit it allows
    const key = qualifyKey(namespace, `${'e'.repeat(64)}:${'x'.repeat(64)}:${'y'.repeat(64)}`, 200);
    expect(key.length).toBeLessThanOrEqual(200);
  });

  it('keeps the group prefix of an over-long key, so evicting the group (prefix "user:42:") still reaches it', () => {
    const relative = ['user', '42', ...Array.from({ length: 4 }, (_, i) => `${i}`.repeat(60))].join(':');
    expect(qualifyKey('app', relative, 200).startsWith('app:user:42:')).toBe(true);
  });

  it('an over-long key never equals a short key whose part hashes the same text', () => {
    // ['user', <the long key as one string part>] hashes that text as one segment; the over-long key must not
    // land on the same Redis key.
    const relative = ['user', 'a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)].join(':');
    const overLong = qualifyKey('app', relative, 200);
    const onePart = qualifyKey('app', renderKey(['user', relative]), 200);
    expect(overLong).not.toBe(onePart);
  });

  it('property: any rendered key, qualified, fits the limit and the character set', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 8 }),
        fc.stringMatching(/^[a-z]{1,20}$/),
        fc.integer({ min: 0, max: 150 }),
        (parts, namespace, extra) => {
          const max = namespace.length + 64 + extra;
          const key = qualifyKey(namespace, renderKey(parts), max);
          expect(key.length).toBeLessThanOrEqual(max);
          expect(key).toMatch(KEY_CHARSET);
          expect(key.startsWith(`${namespace}:`)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
