import { InvalidDecoratorError } from '../cache.errors';
import { type KeyPart, type KeyResult, partToSegment, renderKey, safeSegment } from './key-builder';

/**
 * How a decorator names its key:
 * - a function of the method's arguments returning parts or a string: `(id: string) => ['credential', id]`
 * - a template: `'credential:{0}'`, `'org:{0.orgId}:settings'`, and where a result exists `'credential:{result.id}'`.
 *   Each placeholder's value becomes one safe segment (a `:` inside a value is hashed, never a separator).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CacheKeySpec<A extends unknown[] = any[]> = string | ((...args: A) => KeyResult);

/** A key spec compiled once at start-up: renders the relative key (no namespace) of one call. */
export type CompiledKey = (args: readonly unknown[], result?: unknown) => string;

const PLACEHOLDER = /\{([^{}]+)\}/g;
const PATH = /^(\d+|result)((?:\.[A-Za-z_$][\w$]*)*)$/;

/**
 * Compiles a key spec. Template errors (bad placeholder, `{result}` where no result exists) fail start-up.
 * @param where `Class.method` for error messages
 * @param resultAvailable whether the key is computed after the method ran (write-through, evict after call)
 */
export function compileKey(spec: CacheKeySpec, where: string, resultAvailable: boolean): CompiledKey {
  if (typeof spec === 'function') return (args) => renderKey(spec(...args));
  if (typeof spec !== 'string' || spec.length === 0) {
    throw new InvalidDecoratorError(where, 'key must be a non-empty template string or a function of the arguments');
  }
  const literals: string[] = [];
  const getters: Array<(args: readonly unknown[], result: unknown) => KeyPart> = [];
  let last = 0;
  for (const match of spec.matchAll(PLACEHOLDER)) {
    literals.push(spec.slice(last, match.index));
    getters.push(compilePath(match[1].trim(), spec, where, resultAvailable));
    last = match.index + match[0].length;
  }
  literals.push(spec.slice(last));
  if (literals.some((literal) => /[{}]/.test(literal))) {
    throw new InvalidDecoratorError(where, `key template "${spec}" has an unbalanced brace`);
  }
  const staticKey = getters.length === 0 ? renderKey(spec) : undefined;
  if (staticKey !== undefined) return () => staticKey;
  // Separators stay separators; the text between them is made safe like any segment.
  const renderedLiterals = literals.map((literal) =>
    literal
      .split(':')
      .map((piece) => (piece ? safeSegment(piece) : ''))
      .join(':'),
  );
  return (args, result) => {
    let key = renderedLiterals[0];
    for (let i = 0; i < getters.length; i++) key += partToSegment(getters[i](args, result)) + renderedLiterals[i + 1];
    return key;
  };
}

function compilePath(
  path: string,
  spec: string,
  where: string,
  resultAvailable: boolean,
): (args: readonly unknown[], result: unknown) => KeyPart {
  const match = PATH.exec(path);
  if (!match) {
    throw new InvalidDecoratorError(
      where,
      `key template "${spec}" has placeholder {${path}}; use {0}, {1.id} (argument index and properties) or {result.id}`,
    );
  }
  if (match[1] === 'result' && !resultAvailable) {
    throw new InvalidDecoratorError(where, `key template "${spec}" uses {result}, but this key is built before the method runs`);
  }
  const properties = match[2] ? match[2].slice(1).split('.') : [];
  const index = match[1] === 'result' ? -1 : Number(match[1]);
  return (args, result) => {
    let value: unknown = index < 0 ? result : args[index];
    for (const name of properties) value = value == null ? undefined : (value as Record<string, unknown>)[name];
    return value as KeyPart;
  };
}
