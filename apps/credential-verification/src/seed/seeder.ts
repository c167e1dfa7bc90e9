import { hashToken } from '../auth/auth.service';
import { newId } from '../common/ids';
import type { Queryable } from '../database';
import { BRAND_COLORS, CREDENTIAL_TITLES, FIRST_NAMES, HEADLINES, LAST_NAMES, ORG_NAMES, VERIFICATION_MESSAGES } from './seed-data';

/**
 * Fills the database with realistic demo data in batched multi-row INSERTs (one statement per batch), so 100,000
 * credentials take seconds. Also creates two well-known demo tokens (documented in the README) so the write
 * endpoints can be tried at once.
 */

/** Token of the first seeded organisation: issue and revoke its credentials, change its settings. */
export const DEMO_ISSUER_TOKEN = 'demo-issuer-token';
/** Token of the first seeded user: edit that user's profile. */
export const DEMO_HOLDER_TOKEN = 'demo-holder-token';

export interface SeedOptions {
  /** Credentials to create; organisations and holders scale with it. */
  readonly count: number;
  /** Rows per INSERT. Default 1,000. */
  readonly batchSize?: number;
  /** Called after each batch with the credentials written so far. */
  readonly onProgress?: (written: number) => void;
}

export interface SeedResult {
  readonly orgs: number;
  readonly users: number;
  readonly credentials: number;
  readonly demoOrgId: string;
  readonly demoUserId: string;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
const DAY_MS = 86_400_000;

export async function seedDatabase(db: Queryable, options: SeedOptions): Promise<SeedResult> {
  const batchSize = options.batchSize ?? 1000;
  const orgCount = Math.min(ORG_NAMES.length, Math.max(3, Math.ceil(options.count / 3000)));
  const userCount = Math.max(5, Math.ceil(options.count / 3));

  const orgs = ORG_NAMES.slice(0, orgCount).map((name) => ({ id: newId('org'), name }));
  await insertRows(db, 'orgs', ['id', 'name'], orgs.map((org) => [org.id, org.name]));
  await insertRows(
    db,
    'org_settings',
    ['org_id', 'display_name', 'brand_color', 'support_email', 'verification_message', 'show_holder_email'],
    orgs.map((org, i) => [org.id, org.name, BRAND_COLORS[i % BRAND_COLORS.length], `registrar@${slug(org.name)}.example`, pick(VERIFICATION_MESSAGES), false]),
  );

  const users: Array<{ id: string; name: string }> = [];
  for (let start = 0; start < userCount; start += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, userCount - start) }, () => {
      const name = `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`;
      return { id: newId('user'), name, orgId: pick(orgs).id };
    });
    users.push(...batch);
    await insertRows(
      db,
      'users',
      ['id', 'org_id', 'display_name', 'email', 'headline'],
      batch.map((user) => [user.id, user.orgId, user.name, `${slug(user.name)}.${user.id.slice(-4)}@mail.example`, pick(HEADLINES)]),
    );
  }

  const now = Date.now();
  let written = 0;
  while (written < options.count) {
    const size = Math.min(batchSize, options.count - written);
    const rows = Array.from({ length: size }, () => {
      const holder = pick(users);
      const issuedAt = new Date(now - Math.floor(Math.random() * 5 * 365 * DAY_MS));
      const roll = Math.random();
      // ~3 % revoked, ~7 % expired, ~40 % without expiry, the rest expiring in the future.
      const revoked = roll < 0.03;
      const expiresAt =
        roll < 0.1 && !revoked ? new Date(now - Math.floor(Math.random() * 365 * DAY_MS)) : roll < 0.5 ? null : new Date(now + Math.floor((0.1 + Math.random()) * 3 * 365 * DAY_MS));
      return [
        newId('credential'),
        pick(orgs).id,
        holder.id,
        holder.name,
        pick(CREDENTIAL_TITLES),
        '',
        issuedAt,
        expiresAt,
        revoked ? 'revoked' : 'active',
        revoked ? new Date(issuedAt.getTime() + DAY_MS) : null,
        revoked ? 'Issued in error' : null,
      ];
    });
    await insertRows(
      db,
      'credentials',
      ['id', 'org_id', 'holder_id', 'holder_name', 'title', 'description', 'issued_at', 'expires_at', 'status', 'revoked_at', 'revocation_reason'],
      rows,
    );
    written += size;
    options.onProgress?.(written);
  }

  const demoOrg = orgs[0];
  const demoUser = users[0];
  await db.query(
    `INSERT INTO api_tokens (token_hash, org_id, user_id, label) VALUES ($1, $2, NULL, 'demo issuer'), ($3, $2, $4, 'demo holder')
     ON CONFLICT (token_hash) DO NOTHING`,
    [hashToken(DEMO_ISSUER_TOKEN), demoOrg.id, hashToken(DEMO_HOLDER_TOKEN), demoUser.id],
  );
  return { orgs: orgs.length, users: users.length, credentials: written, demoOrgId: demoOrg.id, demoUserId: demoUser.id };
}

/** One multi-row INSERT with `$n` parameters. */
async function insertRows(db: Queryable, table: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[] = [];
  const tuples = rows.map((row) => `(${row.map((value) => `$${params.push(value)}`).join(', ')})`);
  await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
}

function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
}
