import type { Logger } from '@nestjs/common';
import type { Database } from '../database';
import { DEMO_HOLDER_TOKEN, DEMO_ISSUER_TOKEN, seedDatabase } from './seeder';

/**
 * Seeds `count` credentials when the database has none, so `npm start` on a fresh clone has something to verify.
 * Runs in one transaction under an advisory lock: instances starting together seed once.
 */
export async function seedIfEmpty(db: Database, count: number, logger: Logger): Promise<void> {
  if (count <= 0) return;
  const seeded = await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':seed'))`);
    const [{ n }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM credentials');
    if (n > 0) return undefined;
    return seedDatabase(tx, { count });
  });
  if (seeded) {
    logger.log(
      `empty database: seeded ${seeded.credentials} credentials, ${seeded.users} holders, ${seeded.orgs} organisations ` +
        `(tokens: "${DEMO_ISSUER_TOKEN}" for ${seeded.demoOrgId}, "${DEMO_HOLDER_TOKEN}" for ${seeded.demoUserId})`,
    );
  }
}

/** A credential id worth showing in the start-up banner (a valid one), if any. */
export async function sampleCredentialId(db: Database): Promise<string | undefined> {
  const [row] = await db.query<{ id: string }>(
    `SELECT id FROM credentials WHERE status = 'active' AND (expires_at IS NULL OR expires_at > now()) ORDER BY issued_at DESC LIMIT 1`,
  );
  return row?.id;
}
