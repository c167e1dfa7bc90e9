import * as fc from 'fast-check';
import { CacheError, InvalidDecoratorError, InvalidKeyError } from '../cache.errors';
import { safeSegment } from './key-builder';
import { compileKey } from './key-template';

const KEY_CHARSET = /^[A-Za-z0-9_.\-@+=~:]+$/;
const WHERE = 'CredentialService.find';

function thrownBy(fn: () => unknown): CacheError {
  try {
    fn();
  } catch (error) {
    return error as CacheError;
  }
  throw new Error('expected the call to throw');
}

describe('compileKey', () => {
  describe('templates', () => {
    it('fills {0} with the first argument', () => {
      expect(compileKey('credential:{0}', WHERE, false)(['c-1'])).toBe('credential:c-1');
    });

    it('fills {1.id} with a property of the second argument, nested paths included', () => {
      const key = compileKey('org:{0}:user:{1.id}:{1.profile.lang}', WHERE, false);
      expect(key(['o1', { id: 'u7', profile: { lang: 'de' } }])).toBe('org:o1:user:u7:de');
    });

    it('tolerates spaces inside the braces', () => {
      expect(compileKey('credential:{ 0 }', WHERE, false)(['c-1'])).toBe('credential:c-1');
    });

    it('fills {result.id} from the method result where a result exists', () => {
      expect(compileKey('credential:{result.id}', WHERE, true)([], { id: 'c-9' })).toBe('credential:c-9');
    });

    it('renders a missing argument or property as the reserved undefined segment, and null as ~null', () => {
      const key = compileKey('user:{0.id}', WHERE, false);
      expect(key([undefined])).toBe('user:~undefined');
      expect(key([{}])).toBe('user:~undefined');
      expect(compileKey('user:{0}', WHERE, false)([null])).toBe('user:~null');
    });

    it('makes each placeholder value one safe segment: a ":" in a value is hashed, never a separator', () => {
      const key = compileKey('user:{0}:profile', WHERE, false)(['a:b']);
      const segments = key.split(':');
      expect(segments).toHaveLength(3);
      expect(segments[1]).toBe(safeSegment('a:b'));
      expect(segments[1]).toContain('~');
    });

    it('hashes hostile values and object arguments (stably, regardless of key order)', () => {
      const key = compileKey('search:{0}', WHERE, false);
      expect(key(['*'])).toBe(`search:${safeSegment('*')}`);
      expect(key([{ b: 1, a: 2 }])).toBe(key([{ a: 2, b: 1 }]));
      expect(key([{ b: 1, a: 2 }])).toMatch(/^search:[^:]*~[0-9a-f]{32}$/);
    });

    it('makes hostile literal text safe too, keeping ":" as separators', () => {
      const key = compileKey('my list:{0}', WHERE, false)(['x']);
      expect(key).toBe(`${safeSegment('my list')}:x`);
    });

    it('renders a template without placeholders once, as a static key', () => {
      const key = compileKey('settings:global', WHERE, false);
      expect(key([])).toBe('settings:global');
      expect(key(['ignored'])).toBe('settings:global');
    });
  });

  describe('template errors fail at compile time, naming where', () => {
    it.each([
      ['a non-numeric placeholder', 'user:{id}'],
      ['a negative index', 'user:{-1}'],
      ['a path with brackets', 'user:{0[id]}'],
      ['a trailing dot', 'user:{0.}'],
      ['an expression', 'user:{0 + 1}'],
    ])('%s', (_label, template) => {
      const error = thrownBy(() => compileKey(template, WHERE, false));
      expect(error).toBeInstanceOf(InvalidDecoratorError);
      expect(error.code).toBe('CACHE_INVALID_DECORATOR');
      expect(error.message).toContain(WHERE);
      expect(error.message).toContain(template);
    });

    it.each(['user:{0', 'user:0}', 'user:{{0}}', '{', '}{0}', 'user:{}'])('unbalanced or empty braces in %p', (template) => {
      const error = thrownBy(() => compileKey(template, WHERE, false));
      expect(error).toBeInstanceOf(InvalidDecoratorError);
      expect(error.message).toContain(WHERE);
    });

    it('{result} where the key is built before the method runs', () => {
      const error = thrownBy(() => compileKey('credential:{result.id}', WHERE, false));
      expect(error).toBeInstanceOf(InvalidDecoratorError);
      expect(error.message).toContain(`${WHERE}: key template "credential:{result.id}" uses {result}`);
    });

    it('an empty template or one that is not a string', () => {
      expect(() => compileKey('', WHERE, false)).toThrow(InvalidDecoratorError);
      expect(() => compileKey(42 as unknown as string, WHERE, false)).toThrow(InvalidDecoratorError);
    });
  });

  describe('key functions', () => {
    it('renders the parts a function returns from the arguments', () => {
      const key = compileKey((id: string, page: number) => ['credential', id, page], WHERE, false);
      expect(key(['c-1', 2])).toBe('credential:c-1:2');
    });

    it('reports a bad result at call time as InvalidKeyError (the engine then skips the cache)', () => {
      expect(() => compileKey(() => [], WHERE, false)([])).toThrow(InvalidKeyError);
    });
  });

  describe('properties', () => {
    it('for any string argument, the rendered key stays in the key character set', () => {
      const key = compileKey('user:{0}:orders:{1.q}', WHERE, false);
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, q) => {
          expect(key([a, { q }])).toMatch(KEY_CHARSET);
        }),
        { numRuns: 500 },
      );
    });

    it('distinct single arguments give distinct keys', () => {
      const key = compileKey('user:{0}', WHERE, false);
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
          fc.pre(a !== b);
          expect(key([a])).not.toBe(key([b]));
        }),
        { numRuns: 1_000 },
      );
    });
  });
});
