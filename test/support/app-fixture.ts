import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { hashToken } from '../../apps/credential-verification/src/auth/auth.service';
import { createApp } from '../../apps/credential-verification/src/bootstrap';
import { newId } from '../../apps/credential-verification/src/common/ids';
import { type AppConfig, readConfig } from '../../apps/credential-verification/src/config/app-config';
import { Database } from '../../apps/credential-verification/src/database';

/**
 * One test file's world: its own PostgreSQL schema and its own cache namespace on the shared test Redis, so test
 * files run in parallel without seeing each other. Apps are real (Fastify, pg, Redis); requests go through
 * Fastify's inject, which exercises the full HTTP pipeline without opening a port.
 */

/** The PostgreSQL the e2e tests use: DATABASE_URL, else the local server. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: the e2e tests need the Redis that test/support/global-setup.ts provides');
  return url;
}

/** A unique schema and namespace for one test file. */
export function isolation(name: string): { schema: string; namespace: string } {
  const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
  return { schema: `e2e_${name}_${suffix}`, namespace: `e2e-${name}-${suffix}` };
}

export function testConfig(world: { schema: string; namespace: string }): AppConfig {
  return readConfig({
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: world.schema,
    REDIS_URL: testRedisUrl(),
    CACHE_NAMESPACE: world.namespace,
    SEED_ON_START: '0',
    PORT: '0',
  });
}

/** A started app plus handles the tests need. */
export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly db: Database;
  /** Queries this instance has sent so far. */
  queries(): number;
  close(): Promise<void>;
}

export async function startApp(world: { schema: string; namespace: string }): Promise<TestApp> {
  const app = await createApp(testConfig(world), { logger: false });
  await app.getHttpAdapter().getInstance().ready();
  const db = app.get(Database);
  return { app, db, queries: () => db.queryCount, close: () => app.close() };
}

/** Known rows to test against: two organisations, two users, their tokens. */
export interface Fixtures {
  readonly orgId: string;
  readonly otherOrgId: string;
  readonly holderId: string;
  readonly otherUserId: string;
  /** Token of `orgId` (issue, revoke, settings). */
  readonly issuerToken: string;
  /** Token of `otherOrgId`. */
  readonly otherIssuerToken: string;
  /** Token of `holderId` (profile). */
  readonly holderToken: string;
}

export async function insertFixtures(db: Database): Promise<Fixtures> {
  const fixtures: Fixtures = {
    orgId: newId('org'),
    otherOrgId: newId('org'),
    holderId: newId('user'),
    otherUserId: newId('user'),
    issuerToken: `issuer-${randomBytes(12).toString('hex')}`,
    otherIssuerToken: `other-${randomBytes(12).toString('hex')}`,
    holderToken: `holder-${randomBytes(12).toString('hex')}`,
  };
  await db.query(`INSERT INTO orgs (id, name) VALUES ($1, 'Northbridge University'), ($2, 'Lumen Institute')`, [fixtures.orgId, fixtures.otherOrgId]);
  await db.query(
    `INSERT INTO org_settings (org_id, display_name, brand_color, support_email, verification_message)
     VALUES ($1, 'Northbridge University', '#1f4e79', 'registrar@northbridge.example', 'Issued by the academic board.'),
            ($2, 'Lumen Institute', '#7a1f5c', NULL, '')`,
    [fixtures.orgId, fixtures.otherOrgId],
  );
  await db.query(
    `INSERT INTO users (id, org_id, display_name, email, headline)
     VALUES ($1, $3, 'Amara Okafor', 'amara@mail.example', 'Software engineer'), ($2, $3, 'Liam Smith', 'liam@mail.example', '')`,
    [fixtures.holderId, fixtures.otherUserId, fixtures.orgId],
  );
  await db.query(
    `INSERT INTO api_tokens (token_hash, org_id, user_id, label)
     VALUES ($1, $4, NULL, 'issuer'), ($2, $5, NULL, 'other issuer'), ($3, $4, $6, 'holder')`,
    [hashToken(fixtures.issuerToken), hashToken(fixtures.otherIssuerToken), hashToken(fixtures.holderToken), fixtures.orgId, fixtures.otherOrgId, fixtures.holderId],
  );
  return fixtures;
}

/** Direct access to the test Redis, to look at what the app cached. */
export function redisClient(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
}

/** Every key under a namespace (SCAN, not KEYS). */
export async function keysUnder(redis: Redis, namespace: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

/** Removes a test file's schema and cache keys. */
export async function dropWorld(world: { schema: string; namespace: string }, redis?: Redis): Promise<void> {
  const pool = new Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  try {
    await pool.query(`DROP SCHEMA IF EXISTS "${world.schema}" CASCADE`);
  } finally {
    await pool.end();
  }
  if (redis) {
    const keys = await keysUnder(redis, world.namespace);
    if (keys.length) await redis.del(...keys);
  }
}

/** Authorization header for a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What {@link useSeededApp} gives a describe block; the fields are set once its beforeAll has run. */
export interface SeededApp {
  readonly world: { schema: string; namespace: string };
  instance: TestApp;
  fx: Fixtures;
  redis: Redis;
}

/**
 * One app instance on its own schema and namespace, with fixtures, for a describe block: started in beforeAll,
 * closed and dropped in afterAll.
 */
export function useSeededApp(name: string): SeededApp {
  const suite = { world: isolation(name) } as SeededApp;
  beforeAll(async () => {
    suite.instance = await startApp(suite.world);
    suite.fx = await insertFixtures(suite.instance.db);
    suite.redis = redisClient();
  });
  afterAll(async () => {
    await suite.instance?.close();
    await dropWorld(suite.world, suite.redis);
    suite.redis?.disconnect();
  });
  return suite;
}
