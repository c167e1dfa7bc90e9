import { mkdirSync } from 'node:fs';
import type { Queryable, SqlClient } from './sql-client.interface';

type PGliteInstance = import('@electric-sql/pglite').PGlite;

/**
 * {@link SqlClient} on embedded PGlite: PostgreSQL compiled to WebAssembly, in this process. Zero set-up for
 * `npm start`; one connection, so statements run one at a time. Data persists in `dataDir` (memory when undefined).
 */
export class PgliteClient implements SqlClient {
  readonly kind = 'pglite';
  readonly description: string;

  private constructor(private readonly db: PGliteInstance, dataDir: string | undefined, schema: string) {
    this.description = `embedded PGlite ${dataDir ?? '(in memory)'} (schema ${schema})`;
  }

  static async open(dataDir: string | undefined, schema: string): Promise<PgliteClient> {
    // Loaded lazily: it is only needed when no DATABASE_URL is set, and loading the WebAssembly takes a moment.
    const { PGlite } = await import('@electric-sql/pglite');
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const db = new PGlite(dataDir);
    await db.waitReady;
    await db.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`);
    return new PgliteClient(db, dataDir, schema);
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.db.query<T>(sql, params as unknown[])).rows;
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => work({ query: async <R>(sql: string, params: readonly unknown[] = []) => (await tx.query<R>(sql, params as unknown[])).rows }));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
