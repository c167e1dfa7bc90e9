import { Pool, type PoolClient } from 'pg';
import type { Queryable, SqlClient } from './sql-client.interface';

/** {@link SqlClient} on a PostgreSQL server through a `pg` pool; every connection uses the configured schema. */
export class PgClient implements SqlClient {
  readonly kind = 'postgres';
  readonly description: string;

  private constructor(private readonly pool: Pool, url: URL, schema: string) {
    this.description = `postgres ${url.hostname}:${url.port || 5432}${url.pathname} (schema ${schema})`;
  }

  /** Connects, creating the schema when missing (so each test file can own one). */
  static async connect(url: string, schema: string): Promise<PgClient> {
    const setup = new Pool({ connectionString: url, max: 1 });
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } catch (error) {
      // Two processes creating the same schema at once: the loser sees a unique violation; the schema exists.
      if ((error as { code?: string }).code !== '23505') throw error;
    } finally {
      await setup.end();
    }
    const pool = new Pool({ connectionString: url, max: 10, options: `-c search_path="${schema}"` });
    pool.on('error', () => undefined); // an idle connection dropped by the server; the next query reconnects
    return new PgClient(pool, new URL(url), schema);
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params as unknown[])).rows as T[];
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const connection: PoolClient = await this.pool.connect();
    try {
      await connection.query('BEGIN');
      const result = await work({ query: async <R>(sql: string, params: readonly unknown[] = []) => (await connection.query(sql, params as unknown[])).rows as R[] });
      await connection.query('COMMIT');
      return result;
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
