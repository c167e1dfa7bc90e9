import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/**
 * Ids are prefixed (Stripe style) so a pasted id says what it is, and short enough for a QR code:
 * `cred_` + 20 characters of Crockford base32 (100 bits), e.g. `cred_7f3k9q2m4x8w1c6v0b5n`.
 */
export const ID_PREFIXES = { credential: 'cred', user: 'usr', org: 'org' } as const;
export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const ID_BODY_LENGTH = 20;

/** A new random id of the given kind. */
export function newId(kind: IdKind): string {
  const bytes = randomBytes(ID_BODY_LENGTH);
  let body = '';
  for (const byte of bytes) body += ALPHABET[byte & 31];
  return `${ID_PREFIXES[kind]}_${body}`;
}

/** One pattern per kind, built once: every verification request checks its id. */
const ID_PATTERNS = Object.fromEntries(
  Object.entries(ID_PREFIXES).map(([kind, prefix]) => [kind, new RegExp(`^${prefix}_[${ALPHABET}]{${ID_BODY_LENGTH}}$`)]),
) as Record<IdKind, RegExp>;

/** Whether `value` is a well-formed id of the given kind. */
export function isId(kind: IdKind, value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERNS[kind].test(value);
}

/** The 400 message for a malformed id; shared by the pipe and DTO validation so they read the same. */
export function idFormatMessage(kind: IdKind, field: string): string {
  return `${field} must be a ${kind} id: "${ID_PREFIXES[kind]}_" followed by ${ID_BODY_LENGTH} characters of [0-9a-z]`;
}

/**
 * Validates a route parameter as an id of one kind; a malformed id is a 400 before any cache or database work.
 * @example @Param('id', new ParseIdPipe('credential')) id: string
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<unknown, string> {
  constructor(private readonly kind: IdKind, private readonly field = 'id') {}

  transform(value: unknown): string {
    if (!isId(this.kind, value)) throw new BadRequestException(idFormatMessage(this.kind, this.field));
    return value;
  }
}
