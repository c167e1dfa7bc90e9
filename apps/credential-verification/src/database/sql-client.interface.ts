/**
 * The one small seam between the app and its database driver. `pg` (a PostgreSQL server) and PGlite (embedded
 * PostgreSQL in WebAssembly) both implement it, so repositories never know which one runs.
 */

/** Something SQL can be sent to: the database itself, or one transaction. */
export interface Queryable {
  /** Runs one statement with `$1`-style parameters and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** A driver: queries, transactions, and closing. */
export interface SqlClient extends Queryable {
  /** `postgres` or `pglite`, for logs and /stats/db. */
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, without credentials (for logs). */
  readonly description: string;
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
