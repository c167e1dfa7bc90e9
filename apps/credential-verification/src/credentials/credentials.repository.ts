import { Injectable } from '@nestjs/common';
import { Database } from '../database';
import { newId } from '../common/ids';
import { CREDENTIAL_COLUMNS, type Credential, type CredentialRow, toCredential } from './credential.model';

/** SQL for credentials; no caching here (that is the service's concern). */
@Injectable()
export class CredentialsRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string): Promise<Credential | null> {
    const [row] = await this.db.query<CredentialRow>(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1`, [id]);
    return row ? toCredential(row) : null;
  }

  /** Inserts a credential, snapshotting the holder's current name; null when the holder does not exist. */
  async insert(input: { orgId: string; holderId: string; title: string; description: string; expiresAt: Date | null }): Promise<Credential | null> {
    const [row] = await this.db.query<CredentialRow>(
      `INSERT INTO credentials (id, org_id, holder_id, holder_name, title, description, expires_at)
       SELECT $1, $2, u.id, u.display_name, $4, $5, $6 FROM users u WHERE u.id = $3
       RETURNING ${CREDENTIAL_COLUMNS}`,
      [newId('credential'), input.orgId, input.holderId, input.title, input.description, input.expiresAt],
    );
    return row ? toCredential(row) : null;
  }

  /**
   * Revokes a credential of `orgId` (idempotent: an already revoked one keeps its first revocation). Returns the
   * credential, `'not-found'`, or `'other-org'` when it exists but belongs to another issuer.
   */
  async revoke(id: string, orgId: string, reason: string): Promise<Credential | 'not-found' | 'other-org'> {
    const [row] = await this.db.query<CredentialRow>(
      `UPDATE credentials
          SET status = 'revoked',
              revoked_at = COALESCE(revoked_at, now()),
              revocation_reason = COALESCE(revocation_reason, $3)
        WHERE id = $1 AND org_id = $2
        RETURNING ${CREDENTIAL_COLUMNS}`,
      [id, orgId, reason],
    );
    if (row) return toCredential(row);
    const [other] = await this.db.query<{ id: string }>('SELECT id FROM credentials WHERE id = $1', [id]);
    return other ? 'other-org' : 'not-found';
  }

  async holderExists(holderId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM users WHERE id = $1', [holderId])).length > 0;
  }

  /** A holder's credentials, newest first (at most `limit`). */
  async listByHolder(holderId: string, limit: number): Promise<Credential[]> {
    const rows = await this.db.query<CredentialRow>(
      `SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE holder_id = $1 ORDER BY issued_at DESC, id LIMIT $2`,
      [holderId, limit],
    );
    return rows.map(toCredential);
  }
}
