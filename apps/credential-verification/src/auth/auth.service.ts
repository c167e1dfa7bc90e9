import { Injectable } from '@nestjs/common';
import { Cacheable } from '@app/cache';
import { createHash } from 'node:crypto';
import { Database } from '../database';
import type { Principal } from './principal';

/** Tokens are stored as SHA-256 hashes, never in clear; a leaked table does not leak tokens. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

@Injectable()
export class AuthService {
  constructor(private readonly db: Database) {}

  /**
   * The principal of a bearer token, or null. Checked against the database on every call: the `authToken` policy
   * has `cache: false`, so a revoked token stops working at once. The decorator states that decision where the
   * code is read; the key (a hash, never the token) would only matter if someone turned caching on.
   */
  @Cacheable({ key: (token: string) => ['auth', 'token', hashToken(token)], policy: 'authToken' })
  async verifyToken(token: string): Promise<Principal | null> {
    const [row] = await this.db.query<{ org_id: string; user_id: string | null; label: string }>(
      'SELECT org_id, user_id, label FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [hashToken(token)],
    );
    return row ? { orgId: row.org_id, userId: row.user_id, label: row.label } : null;
  }

  /** Revokes a token (takes effect on the next request, since tokens are never cached). */
  async revokeToken(token: string): Promise<boolean> {
    const rows = await this.db.query('UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL RETURNING token_hash', [hashToken(token)]);
    return rows.length > 0;
  }
}
