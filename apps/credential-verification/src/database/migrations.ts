import type { Queryable } from './sql-client.interface';

/** One schema change. Versions only grow; an applied migration is never edited, a new one is added instead. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The schema, in order. Tracked in `schema_migrations`; applied at start-up by {@link migrate}. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'organisations, users, credentials',
    sql: `
      CREATE TABLE orgs (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE org_settings (
        org_id               text PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
        display_name         text NOT NULL,
        brand_color          text NOT NULL DEFAULT '#1f4e79',
        support_email        text,
        verification_message text NOT NULL DEFAULT '',
        show_holder_email    boolean NOT NULL DEFAULT false,
        updated_at           timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE users (
        id            text PRIMARY KEY,
        org_id        text REFERENCES orgs(id) ON DELETE SET NULL,
        display_name  text NOT NULL,
        email         text NOT NULL,
        headline      text NOT NULL DEFAULT '',
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE credentials (
        id                 text PRIMARY KEY,
        org_id             text NOT NULL REFERENCES orgs(id),
        holder_id          text NOT NULL REFERENCES users(id),
        holder_name        text NOT NULL,
        title              text NOT NULL,
        description        text NOT NULL DEFAULT '',
        issued_at          timestamptz NOT NULL DEFAULT now(),
        expires_at         timestamptz,
        status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
        revoked_at         timestamptz,
        revocation_reason  text
      );
      CREATE INDEX credentials_holder_idx ON credentials (holder_id, issued_at DESC);
      CREATE INDEX credentials_org_idx ON credentials (org_id);
    `,
  },
  {
    version: 2,
    name: 'api tokens',
    sql: `
      CREATE TABLE api_tokens (
        token_hash  text PRIMARY KEY,
        org_id      text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        user_id     text REFERENCES users(id) ON DELETE CASCADE,
        label       text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz
      );
    `,
  },
];

/**
 * Applies the migrations not yet recorded, in one transaction under an advisory lock, so several instances
 * starting together against one database apply each migration exactly once. Returns the versions applied.
 */
export async function migrate(db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> }, migrations = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':migrations'))`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((row) => Number(row.version)));
    const done: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.version);
    }
    return done;
  });
}

/** Splits a migration into statements (extended-protocol queries take one statement each). No `;` inside literals. */
function splitStatements(sql: string): string[] {
  return sql
    .split(';')
    .map((statement) => statement.trim())
    .filter(Boolean);
}
