import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { Database } from '../../apps/credential-verification/src/database';
import type { DatabaseTarget } from '../../apps/credential-verification/src/config/app-config';
import { seedDatabase } from '../../apps/credential-verification/src/seed/seeder';

/** The local server the e2e tests use too. */
const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The database of one ceremony run: what to hand the app (DATABASE_URL, DATABASE_SCHEMA), and how to clean up. */
export interface BenchDatabase {
  readonly source: 'DATABASE_URL' | 'local postgres' | 'pglite';
  /** Environment for the app child process. */
  readonly env: { DATABASE_URL: string; DATABASE_SCHEMA: string };
  readonly target: DatabaseTarget;
  drop(): Promise<void>;
}

/**
 * DATABASE_URL if set, else the local PostgreSQL when it answers, each in a schema of its own (dropped afterwards);
 * else embedded PGlite in a temporary directory (one process at a time: the bench seeds it, closes it, then the
 * app opens it).
 */
export async function findBenchDatabase(runId: string): Promise<BenchDatabase> {
  const schema = `bench_ceremony_${runId.replace(/[^a-z0-9]/g, '_')}`;
  const url = process.env.DATABASE_URL || ((await postgresAnswers(LOCAL_POSTGRES_URL)) ? LOCAL_POSTGRES_URL : undefined);
  if (url) {
    return {
      source: process.env.DATABASE_URL ? 'DATABASE_URL' : 'local postgres',
      env: { DATABASE_URL: url, DATABASE_SCHEMA: schema },
      target: { kind: 'postgres', url, schema },
      drop: async () => {
        const pool = new Pool({ connectionString: url, max: 1 });
        try {
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await pool.end();
        }
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), `bench-ceremony-${randomBytes(3).toString('hex')}-`));
  return {
    source: 'pglite',
    env: { DATABASE_URL: `pglite://${dir}`, DATABASE_SCHEMA: 'public' },
    target: { kind: 'pglite', dataDir: dir, schema: 'public' },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Seeds `count` credentials and returns every credential id, plus `hot` valid ones for the hot set. */
export async function seedAndListIds(target: DatabaseTarget, count: number, hot: number): Promise<{ ids: string[]; hotIds: string[] }> {
  const db = await Database.open(target);
  try {
    await seedDatabase(db, { count });
    const ids = (await db.query<{ id: string }>('SELECT id FROM credentials ORDER BY id')).map((row) => row.id);
    const hotIds = (
      await db.query<{ id: string }>(
        `SELECT id FROM credentials WHERE status = 'active' AND (expires_at IS NULL OR expires_at > now()) ORDER BY id LIMIT $1`,
        [hot],
      )
    ).map((row) => row.id);
    return { ids, hotIds };
  } finally {
    await db.onApplicationShutdown();
  }
}

async function postgresAnswers(url: string): Promise<boolean> {
  const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 1_000 });
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await pool.end().catch(() => undefined);
  }
}
