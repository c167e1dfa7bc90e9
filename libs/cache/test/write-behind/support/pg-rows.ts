import { Pool } from 'pg';
import type { WriteBehindWrite } from '@app/cache';

/**
 * A real table as the database of the write-behind tests: `<schema>.rows(key, value, version)`. Writes are applied
 * the way docs/write-behind.md asks handlers to: in one transaction, each only if its version is newer.
 */

export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function createRowsTable(pool: Pool, schema: string): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".rows (key text PRIMARY KEY, value jsonb NOT NULL, version bigint NOT NULL)`);
}

/** Applies a batch in one transaction; `during` runs inside it (before COMMIT), `after` once it committed. */
export async function applyRows(
  pool: Pool,
  schema: string,
  writes: ReadonlyArray<WriteBehindWrite>,
  during: () => Promise<void> = async () => undefined,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const write of writes) {
      await client.query(
        `INSERT INTO "${schema}".rows (key, value, version) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version WHERE rows.version < excluded.version`,
        [write.key, JSON.stringify(write.value), write.version.toString()],
      );
    }
    await during();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function readRows(pool: Pool, schema: string): Promise<Map<string, { value: unknown; version: bigint }>> {
  const { rows } = await pool.query(`SELECT key, value, version FROM "${schema}".rows`);
  return new Map(rows.map((row: { key: string; value: unknown; version: string }) => [row.key, { value: row.value, version: BigInt(row.version) }]));
}
