export { Database } from './database';
export { DatabaseModule } from './database.module';
export { MIGRATIONS, migrate, type Migration } from './migrations';
export type { Queryable, SqlClient } from './sql-client.interface';
