import { InvalidDurationError } from '../cache.errors';

/**
 * A duration: milliseconds as a number, or a string with a unit.
 * @example 500, '500ms', '60s', '10m', '2h', '1d', '1.5s'
 */
export type Duration = number | `${number}${DurationUnit}`;
type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a {@link Duration} into whole milliseconds.
 * @param path where the value came from, for the error message (e.g. `policies.credential.ttl`)
 * @throws InvalidDurationError for negative, non-finite, over-large (> Number.MAX_SAFE_INTEGER ms) or malformed values
 */
export function parseDuration(value: unknown, path: string): number {
  let ms = Number.NaN;
  if (typeof value === 'number') ms = value;
  if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value.trim());
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  }
  // Also bounds strings such as '999…9ms', whose digits parse to Infinity (or past what Redis PX accepts).
  if (ms >= 0 && ms <= Number.MAX_SAFE_INTEGER) return Math.round(ms);
  throw new InvalidDurationError(path, value);
}
