import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { DatabaseTarget } from '../config/app-config';
import { migrate } from './migrations';
import { PgClient } from './pg.client';
import { PgliteClient } from './pglite.client';
import type { Queryable, SqlClient } from './sql-client.interface';

/**
 * The app's database: one {@link SqlClient} (pg or PGlite), migrated at open, with a counter of every query sent.
 * The counter is how tests and the load scenario see what the cache saves (GET /stats/db).
 */
@Injectable()
export class Database implements Queryable, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private queries = 0;

  constructor(private readonly client: SqlClient) {}

  /** Opens the target and applies pending migrations. */
  static async open(target: DatabaseTarget): Promise<Database> {
    const client = target.kind === 'postgres' ? await PgClient.connect(target.url, target.schema) : await PgliteClient.open(target.dataDir, target.schema);
    const database = new Database(client);
    const applied = await migrate(client);
    database.logger.log(`${client.description}; ${applied.length ? `applied migrations ${applied.join(', ')}` : 'schema up to date'}`);
    return database;
  }

  get kind(): SqlClient['kind'] {
    return this.client.kind;
  }

  get description(): string {
    return this.client.description;
  }

  /** Queries sent since start (statements inside transactions included). */
  get queryCount(): number {
    return this.queries;
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    this.queries++;
    return this.client.query<T>(sql, params);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.client.transaction((tx) =>
      work({
        query: <R>(sql: string, params?: readonly unknown[]) => {
          this.queries++;
          return tx.query<R>(sql, params);
        },
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
