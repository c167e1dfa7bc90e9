/** An issued credential, as stored (and cached). Its verification status is derived at read time. */
export interface Credential {
  readonly id: string;
  readonly orgId: string;
  readonly holderId: string;
  /** The holder's name as printed on the certificate (a snapshot taken at issue). */
  readonly holderName: string;
  readonly title: string;
  readonly description: string;
  readonly issuedAt: string;
  readonly expiresAt: string | null;
  readonly status: 'active' | 'revoked';
  readonly revokedAt: string | null;
  readonly revocationReason: string | null;
}

/** What a verifier is told. */
export type VerificationStatus = 'valid' | 'revoked' | 'expired';

/**
 * Derived from the record and the clock on every read, never cached: a cached credential becomes `expired` the
 * moment its expiry passes, whatever the cache TTL.
 */
export function verificationStatus(credential: Credential, now = new Date()): VerificationStatus {
  if (credential.status === 'revoked') return 'revoked';
  if (credential.expiresAt && new Date(credential.expiresAt) <= now) return 'expired';
  return 'valid';
}

export interface CredentialRow {
  id: string;
  org_id: string;
  holder_id: string;
  holder_name: string;
  title: string;
  description: string;
  issued_at: Date | string;
  expires_at: Date | string | null;
  status: 'active' | 'revoked';
  revoked_at: Date | string | null;
  revocation_reason: string | null;
}

export const CREDENTIAL_COLUMNS =
  'id, org_id, holder_id, holder_name, title, description, issued_at, expires_at, status, revoked_at, revocation_reason';

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

export function toCredential(row: CredentialRow): Credential {
  return {
    id: row.id,
    orgId: row.org_id,
    holderId: row.holder_id,
    holderName: row.holder_name,
    title: row.title,
    description: row.description,
    issuedAt: new Date(row.issued_at).toISOString(),
    expiresAt: iso(row.expires_at),
    status: row.status,
    revokedAt: iso(row.revoked_at),
    revocationReason: row.revocation_reason,
  };
}
