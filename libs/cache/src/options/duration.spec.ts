import { CacheError, InvalidDurationError } from '../cache.errors';
import { parseDuration } from './duration';

/** Runs `fn` and returns what it threw, so one test can assert class, code and message together. */
function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['60s', 60_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1.5s', 1_500],
    ['0s', 0],
  ])('parses %p as %p milliseconds', (input, expected) => {
    expect(parseDuration(input, 'ttl')).toBe(expected);
  });

  it('takes numbers as milliseconds and rounds them to whole milliseconds', () => {
    expect(parseDuration(0, 'ttl')).toBe(0);
    expect(parseDuration(250, 'ttl')).toBe(250);
    expect(parseDuration(1.6, 'ttl')).toBe(2);
  });

  it.each([
    ['a negative number', -1],
    ['a negative fraction that rounds to zero', -0.4],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a unit spelled out', '10 minutes'],
    ['an empty string', ''],
    ['null', null],
    ['undefined', undefined],
    ['a negative string', '-5s'],
    ['a number without unit as a string', '500'],
    ['an unknown unit', '3w'],
    ['an object', { ms: 5 }],
    // Would be Number.POSITIVE_INFINITY milliseconds: a TTL Redis cannot take.
    ['a string too large to be finite', `${'9'.repeat(400)}ms`],
    ['a number beyond Number.MAX_SAFE_INTEGER', 1e300],
  ])('rejects %s with CACHE_INVALID_DURATION naming the option path', (_label, input) => {
    const error = thrownBy(() => parseDuration(input, 'policies.credential.ttl'));
    expect(error).toBeInstanceOf(InvalidDurationError);
    expect(error).toBeInstanceOf(CacheError);
    expect((error as CacheError).code).toBe('CACHE_INVALID_DURATION');
    expect(error.message).toContain('policies.credential.ttl');
    expect(error.message).toMatch(/^\[CACHE_INVALID_DURATION\] /);
  });
});
