import { Injectable } from '@nestjs/common';
import { Database } from '../database';

/** Public counts for the landing page; expensive (full counts), so the controller caches them for 30 minutes. */
export interface PublicStats {
  readonly organisations: number;
  readonly holders: number;
  readonly credentials: { readonly total: number; readonly active: number; readonly revoked: number; readonly expired: number };
  readonly computedAt: string;
}

@Injectable()
export class StatsService {
  constructor(private readonly db: Database) {}

  async publicStats(): Promise<PublicStats> {
    const [row] = await this.db.query<{ orgs: number; users: number; total: number; revoked: number; expired: number }>(`
      SELECT (SELECT count(*)::int FROM orgs) AS orgs,
             (SELECT count(*)::int FROM users) AS users,
             count(*)::int AS total,
             (count(*) FILTER (WHERE status = 'revoked'))::int AS revoked,
             (count(*) FILTER (WHERE status = 'active' AND expires_at <= now()))::int AS expired
        FROM credentials`);
    return {
      organisations: row.orgs,
      holders: row.users,
      credentials: { total: row.total, active: row.total - row.revoked - row.expired, revoked: row.revoked, expired: row.expired },
      computedAt: new Date().toISOString(),
    };
  }

  /** What the database has done in this process; the load scenario and the tests read the query counter here. */
  databaseStats(): { kind: string; database: string; queries: number } {
    return { kind: this.db.kind, database: this.db.description, queries: this.db.queryCount };
  }
}
