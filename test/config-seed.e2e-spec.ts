import { createServer, type Server } from 'node:net';
import { DEFAULT_PGLITE_DIR, readConfig, redisAnswers, resolveConfig } from '../apps/credential-verification/src/config/app-config';
import { Database, migrate } from '../apps/credential-verification/src/database';
import { DEMO_HOLDER_TOKEN, DEMO_ISSUER_TOKEN, seedDatabase } from '../apps/credential-verification/src/seed/seeder';
import { seedIfEmpty } from '../apps/credential-verification/src/seed/seed-on-start';
import { dropWorld, isolation, TEST_DATABASE_URL, testRedisUrl } from './support/app-fixture';

describe('configuration', () => {
  it('defaults to embedded PGlite, port 3000, namespace "certify" and a 1,000-row seed', () => {
    expect(readConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      database: { kind: 'pglite', dataDir: DEFAULT_PGLITE_DIR, schema: 'public' },
      redisUrl: undefined,
      cacheNamespace: 'certify',
      seedOnStart: 1000,
      cacheDisabled: false,
      verifyRateLimit: 300,
      trustProxy: false,
    });
  });

  it('selects PostgreSQL or PGlite from DATABASE_URL', () => {
    expect(readConfig({ DATABASE_URL: 'postgres://u@db:5432/x', DATABASE_SCHEMA: 'tenant_a' }).database).toEqual({ kind: 'postgres', url: 'postgres://u@db:5432/x', schema: 'tenant_a' });
    expect(readConfig({ DATABASE_URL: 'pglite://memory' }).database).toEqual({ kind: 'pglite', dataDir: undefined, schema: 'public' });
    expect(readConfig({ DATABASE_URL: 'pglite://./tmp/db' }).database).toMatchObject({ kind: 'pglite', dataDir: './tmp/db' });
  });

  it('rejects invalid values naming the variable', () => {
    expect(() => readConfig({ PORT: 'eighty' })).toThrow('PORT must be an integer between 0 and 65535, got "eighty"');
    expect(() => readConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL must start with/);
    expect(() => readConfig({ DATABASE_SCHEMA: 'Robert"; DROP' })).toThrow(/^DATABASE_SCHEMA must be a lower-case SQL identifier/);
    expect(() => readConfig({ SEED_ON_START: '-1' })).toThrow(/^SEED_ON_START/);
    expect(() => readConfig({ CACHE_DISABLED: 'yes' })).toThrow('CACHE_DISABLED must be 1, true, 0 or false, got "yes"');
  });

  it('reads CACHE_DISABLED as a flag (the load scenario\'s uncached run)', () => {
    expect(readConfig({ CACHE_DISABLED: '1' }).cacheDisabled).toBe(true);
    expect(readConfig({ CACHE_DISABLED: 'TRUE' }).cacheDisabled).toBe(true);
    expect(readConfig({ CACHE_DISABLED: '0' }).cacheDisabled).toBe(false);
    expect(readConfig({ CACHE_DISABLED: '' }).cacheDisabled).toBe(false);
  });

  it('without REDIS_URL uses a local Redis that answers, else logs one line and caches in-process', async () => {
    const logger = { log: jest.fn() };
    expect((await resolveConfig({}, logger, async () => true)).redisUrl).toBe('redis://127.0.0.1:6379');
    expect(logger.log).not.toHaveBeenCalled();
    const probe = jest.fn(async () => false);
    expect((await resolveConfig({}, logger, probe)).redisUrl).toBeUndefined();
    expect(probe).toHaveBeenCalledWith('127.0.0.1', 6379, 300);
    expect(logger.log).toHaveBeenCalledTimes(1);
    expect(logger.log.mock.calls[0][0]).toMatch(/no Redis on 127\.0\.0\.1:6379; caching in-process/);
    const explicit = jest.fn(async () => true);
    expect((await resolveConfig({ REDIS_URL: 'redis://cache:6380' }, logger, explicit)).redisUrl).toBe('redis://cache:6380');
    expect(explicit).not.toHaveBeenCalled();
  });

  it('probes Redis with a PING: true for a Redis, false for a closed port or a server that is not Redis', async () => {
    const url = new URL(testRedisUrl());
    expect(await redisAnswers(url.hostname, Number(url.port || 6379), 300)).toBe(true);
    const silent: Server = createServer((socket) => socket.resume()); // accepts and reads, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    expect(await redisAnswers('127.0.0.1', port, 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    await new Promise((resolve) => silent.close(resolve));
    expect(await redisAnswers('127.0.0.1', port, 300)).toBe(false);
  });
});

describe('migrations and seeding (real PostgreSQL)', () => {
  const world = isolation('seed');
  let db: Database;

  beforeAll(async () => {
    db = await Database.open({ kind: 'postgres', url: TEST_DATABASE_URL, schema: world.schema });
  });

  afterAll(async () => {
    await db?.onApplicationShutdown();
    await dropWorld(world);
  });

  it('records migrations and applies none twice', async () => {
    expect(await migrate(db)).toEqual([]);
    expect((await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((row) => row.version)).toEqual([1, 2]);
  });

  it('seeds realistic data in batches, with the demo tokens, and only into an empty database on start', async () => {
    const progress: number[] = [];
    const result = await seedDatabase(db, { count: 2_500, batchSize: 1_000, onProgress: (written) => progress.push(written) });
    expect(progress).toEqual([1_000, 2_000, 2_500]);
    expect(result).toMatchObject({ credentials: 2_500, orgs: 3, users: 834 });
    const [counts] = await db.query<{ credentials: number; revoked: number; tokens: number }>(
      `SELECT (SELECT count(*)::int FROM credentials) AS credentials,
              (SELECT count(*)::int FROM credentials WHERE status = 'revoked') AS revoked,
              (SELECT count(*)::int FROM api_tokens) AS tokens`,
    );
    expect(counts.credentials).toBe(2_500);
    expect(counts.revoked).toBeGreaterThan(20); // ~3 %
    expect(counts.revoked).toBeLessThan(200);
    expect(counts.tokens).toBe(2);
    const [sample] = await db.query<{ title: string; holder_name: string }>('SELECT title, holder_name FROM credentials LIMIT 1');
    expect(sample.holder_name).toMatch(/^\S+ \S+$/);
    expect(DEMO_ISSUER_TOKEN).not.toBe(DEMO_HOLDER_TOKEN);

    const logger = { log: jest.fn() } as unknown as import('@nestjs/common').Logger;
    await seedIfEmpty(db, 100, logger);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM credentials'))[0].n).toBe(2_500);
    expect(logger.log).not.toHaveBeenCalled();
  });
});

describe('without Redis (in-process cache fallback)', () => {
  const world = isolation('noredis');

  afterAll(() => dropWorld(world));

  it('runs and caches in-process when no Redis is configured', async () => {
    const { createApp } = await import('../apps/credential-verification/src/bootstrap');
    const { testConfig, insertFixtures } = await import('./support/app-fixture');
    const app = await createApp({ ...testConfig(world), redisUrl: undefined }, { logger: false });
    try {
      await app.getHttpAdapter().getInstance().ready();
      const db = app.get(Database);
      const fx = await insertFixtures(db);
      const url = `/users/${fx.holderId}/profile`;
      const before = db.queryCount;
      expect((await app.inject({ url })).statusCode).toBe(200);
      expect((await app.inject({ url })).statusCode).toBe(200);
      expect(db.queryCount - before).toBe(1);
    } finally {
      await app.close();
    }
  });
});
