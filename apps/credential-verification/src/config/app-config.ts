import { Logger } from '@nestjs/common';
import { Socket } from 'node:net';

/**
 * Every environment variable the app reads, in one list. docker-compose.yml must set each of them for the app
 * service (test/docker-compose.e2e-spec.ts checks it), and nothing outside this file reads `process.env`.
 */
export const APP_ENV_VARS = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATABASE_SCHEMA',
  'REDIS_URL',
  'CACHE_NAMESPACE',
  'SEED_ON_START',
  'VERIFY_RATE_LIMIT',
  'CACHE_DISABLED',
  'ADMIN_TOKEN',
  'TRUST_PROXY',
] as const;

/** One of {@link APP_ENV_VARS}. */
export type AppEnvVar = (typeof APP_ENV_VARS)[number];

/** Environment the config is read from (process.env in production, a plain object in tests). */
export type AppEnv = Partial<Record<AppEnvVar, string>>;

/** Where the data lives: a PostgreSQL server, or embedded PGlite (a directory, or in memory). */
export type DatabaseTarget =
  | { kind: 'postgres'; url: string; schema: string }
  | { kind: 'pglite'; dataDir: string | undefined; schema: string };

/** The app's settings, resolved once at start-up. */
export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseTarget;
  /** Redis URL of the shared cache tier; undefined runs the cache on the in-process store. */
  readonly redisUrl: string | undefined;
  readonly cacheNamespace: string;
  /** Rows to seed at start-up when the database is empty; 0 disables. */
  readonly seedOnStart: number;
  /** Requests per minute per client IP to the public verify endpoint; 0 disables the limit (benchmarks). */
  readonly verifyRateLimit: number;
  /**
   * Every cache policy turned into `cache: false` (nothing read from or written to the cache, every read reaches the
   * database), for measuring what the cache saves (`npm run bench:ceremony`). Never set in production.
   */
  readonly cacheDisabled: boolean;
  /** Token of the admin routes (/admin/cache); unset or empty turns them off (404). Never logged. */
  readonly adminToken: string | undefined;
  /**
   * Take the client IP from X-Forwarded-For (set it only behind a proxy that writes that header): without a proxy a
   * client could pick its own IP and dodge the per-IP rate limit.
   */
  readonly trustProxy: boolean;
}

/** Default embedded database directory, relative to the working directory (gitignored). */
export const DEFAULT_PGLITE_DIR = '.data/pglite';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Thrown for an invalid environment variable; the message names the variable. */
export class ConfigError extends Error {
  constructor(variable: AppEnvVar, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the config from the environment, without touching the network (see {@link resolveConfig} for the Redis probe).
 * DATABASE_URL: `postgres://...` for a server, `pglite://<dir>` or `pglite://memory` for the embedded database;
 * unset means PGlite in {@link DEFAULT_PGLITE_DIR}.
 */
export function readConfig(env: AppEnv): AppConfig {
  const schema = env.DATABASE_SCHEMA || 'public';
  if (!SCHEMA_PATTERN.test(schema)) throw new ConfigError('DATABASE_SCHEMA', `must be a lower-case SQL identifier, got "${schema}"`);
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    database: databaseTarget(env.DATABASE_URL, schema),
    redisUrl: env.REDIS_URL || undefined,
    cacheNamespace: env.CACHE_NAMESPACE || 'certify',
    seedOnStart: integer(env, 'SEED_ON_START', 1000, 0, 10_000_000),
    verifyRateLimit: integer(env, 'VERIFY_RATE_LIMIT', 300, 0, 1_000_000),
    cacheDisabled: flag(env, 'CACHE_DISABLED'),
    adminToken: env.ADMIN_TOKEN || undefined,
    trustProxy: flag(env, 'TRUST_PROXY'),
  };
}

/**
 * {@link readConfig}, plus the Redis fallback: without REDIS_URL, a local Redis on 127.0.0.1:6379 is used if it
 * answers PING within 300 ms; otherwise one line is logged and the cache runs in-process.
 */
export async function resolveConfig(
  env: AppEnv,
  logger: Pick<Logger, 'log'> = new Logger('Config'),
  probe: (host: string, port: number, timeoutMs: number) => Promise<boolean> = redisAnswers,
): Promise<AppConfig> {
  const config = readConfig(env);
  if (config.redisUrl) return config;
  if (await probe('127.0.0.1', 6379, 300)) return { ...config, redisUrl: DEFAULT_REDIS_URL };
  logger.log('REDIS_URL not set and no Redis on 127.0.0.1:6379; caching in-process (not shared between instances)');
  return config;
}

function databaseTarget(url: string | undefined, schema: string): DatabaseTarget {
  if (!url) return { kind: 'pglite', dataDir: DEFAULT_PGLITE_DIR, schema };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url, schema };
  if (url.startsWith('pglite://')) {
    const dir = url.slice('pglite://'.length);
    return { kind: 'pglite', dataDir: dir === 'memory' || dir === '' ? undefined : dir, schema };
  }
  throw new ConfigError('DATABASE_URL', 'must start with postgres://, postgresql:// or pglite://');
}

function integer(env: AppEnv, name: AppEnvVar, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/** A boolean variable: `1`/`true` or `0`/`false` (unset or empty: false). */
function flag(env: AppEnv, name: AppEnvVar): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new ConfigError(name, `must be 1, true, 0 or false, got "${env[name]}"`);
}

/** Whether a Redis answers PING on host:port within `timeoutMs` (a raw RESP exchange; no client, no retries). */
export function redisAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

/** The environment of this process, narrowed to the variables the app reads. */
export function processEnv(): AppEnv {
  const env: AppEnv = {};
  for (const name of APP_ENV_VARS) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}
