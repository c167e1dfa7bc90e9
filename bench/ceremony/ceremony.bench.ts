import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AppProcess, startApp } from './app-process';
import { findBenchDatabase, seedAndListIds } from './database';
import { summarizeProfiles } from './profile-summary';
import { deleteMatching, findBenchRedis, redisCpuMs, redisVersion } from '../support/redis';
import { epochMs, round1, textTable } from '../support/stats';

/**
 * `npm run bench:ceremony`: the award ceremony of issue 6. Hundreds of people scan the QR codes of a few
 * certificates at once (the hot set), while the rest of the seeded credentials get the odd scan (the long tail).
 * The demo app runs in a child process on Fastify with a real Redis and a real database, and is measured three
 * times in one run, each in a fresh process: caching on, caching off (CACHE_DISABLED=1: every policy `cache: false`),
 * and GET /static/ping (a body of the same shape with no cache and no database: the framework's ceiling).
 * autocannon runs here, in the bench process, never in the app's.
 *
 * Reported per run: req/s, p50/p99 latency, database queries per second (GET /stats/db before and after), queries
 * per request and the hit rate derived from them (the verify path is cached in the service, so there is no X-Cache
 * header to count). Prints a table, writes bench/results/ceremony.json, and prints one JSON summary as the last line.
 *
 * Environment (all optional): CEREMONY_DURATION_S (30), CEREMONY_CONNECTIONS (800), CEREMONY_CREDENTIALS (20000),
 * CEREMONY_HOT_IDS (5), CEREMONY_HOT_SHARE (0.8), CEREMONY_WARMUP_S (5), CEREMONY_RUNS (static,cached,uncached),
 * CEREMONY_CPU_PROF=1 (profile each app process and print where its time went), REDIS_URL, DATABASE_URL.
 */

const ROOT = resolve(__dirname, '..', '..');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'ceremony.json');

const DURATION_S = envNumber('CEREMONY_DURATION_S', 30);
const CONNECTIONS = envNumber('CEREMONY_CONNECTIONS', 800);
const CREDENTIALS = envNumber('CEREMONY_CREDENTIALS', 20_000);
const HOT_IDS = envNumber('CEREMONY_HOT_IDS', 5);
const HOT_SHARE = envNumber('CEREMONY_HOT_SHARE', 0.8);
const WARMUP_S = envNumber('CEREMONY_WARMUP_S', 5);
const CPU_PROF = process.env.CEREMONY_CPU_PROF === '1';
const PRIME_CONNECTIONS = 100;

type RunName = 'static' | 'cached' | 'uncached';
const RUNS = (process.env.CEREMONY_RUNS ?? 'static,cached,uncached').split(',').map((name) => name.trim()) as RunName[];

/** Targets of issue 6. */
const MAX_DB_QUERY_RATIO = 0.01;
const MIN_RPS_VS_STATIC = 0.9;

interface RunResult {
  run: string;
  path: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  failed: number;
  dbQueries: number;
  dbQps: number;
  queriesPerRequest: number;
  /** The app process's CPU time (user + system) per request during the measured run. */
  appCpuUsPerReq: number;
  /** Redis's CPU time per request during the measured run (Redis serves nothing else meanwhile). */
  redisCpuUsPerReq: number;
  hitRate?: number;
  primeQueries?: number;
}

const log = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const namespace = `bench-ceremony-${runId}`;
  const started = epochMs();
  const redis = await findBenchRedis();
  const database = await findBenchDatabase(runId);
  const profileDir = CPU_PROF ? mkdtempSync(join(tmpdir(), 'bench-ceremony-prof-')) : undefined;
  log(`award-ceremony load test, run ${runId}: Redis ${redis.url} (${redis.source}), database ${database.source} (${database.env.DATABASE_URL}, schema ${database.env.DATABASE_SCHEMA})`);
  log(`${CONNECTIONS} connections for ${DURATION_S} s per run; ${Math.round(HOT_SHARE * 100)} % of requests on ${HOT_IDS} hot credentials, the rest over all ${CREDENTIALS.toLocaleString('en')}`);

  const results: RunResult[] = [];
  try {
    const seedStarted = Date.now();
    const { ids, hotIds } = await seedAndListIds(database.target, CREDENTIALS, HOT_IDS);
    log(`seeded ${ids.length.toLocaleString('en')} credentials in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s; hot: ${hotIds.join(', ')}`);
    const pickId = () => (Math.random() < HOT_SHARE ? hotIds[Math.floor(Math.random() * hotIds.length)] : ids[Math.floor(Math.random() * ids.length)]);
    // VERIFY_RATE_LIMIT=0: autocannon's 800 connections come from one address, a ceremony's phones from 800.
    const baseEnv = { ...database.env, REDIS_URL: redis.url, CACHE_NAMESPACE: namespace, SEED_ON_START: '0', VERIFY_RATE_LIMIT: '0' };

    for (const run of RUNS) {
      const verify = run !== 'static';
      const app = await startApp({ env: { ...baseEnv, CACHE_DISABLED: run === 'uncached' ? '1' : '0' }, cpuProfileDir: profileDir && join(profileDir, run) });
      try {
        log(`\n[${run}] app pid ${app.pid} on ${app.url}`);
        await sanityCheck(app, hotIds[0]);
        let primeQueries: number | undefined;
        if (verify) {
          // Every seeded credential verified once before the measurement, as issue writes each one through to the
          // cache: the ceremony's certificates were issued before it started. Run for the uncached app too (warms
          // its JIT and connection pool the same way).
          const before = await dbQueries(app);
          const primed = await cannon(app.url, { connections: PRIME_CONNECTIONS, amount: ids.length, path: sequential(ids) });
          primeQueries = (await dbQueries(app)) - before;
          const primeFailed = primed.non2xx + primed.errors + primed.timeouts;
          if (primeFailed > 0) log(`[${run}] ${primeFailed} of the priming requests failed (${primed.non2xx} non-2xx, ${primed.errors} errors, ${primed.timeouts} timeouts)`);
          log(`[${run}] primed ${ids.length.toLocaleString('en')} credentials in ${primed.duration.toFixed(1)} s (${primeQueries.toLocaleString('en')} queries)`);
        }
        const path = verify ? () => `/credentials/${pickId()}` : () => '/static/ping';
        if (WARMUP_S > 0) await cannon(app.url, { connections: CONNECTIONS, duration: WARMUP_S, path });
        const before = await dbQueries(app);
        const [appCpuBefore, redisCpuBefore] = [app.cpuMs(), await redisCpuMs(redis.url)];
        const result = await cannon(app.url, { connections: CONNECTIONS, duration: DURATION_S, path });
        const [appCpu, redisCpu] = [app.cpuMs() - appCpuBefore, (await redisCpuMs(redis.url)) - redisCpuBefore];
        const queries = (await dbQueries(app)) - before;
        const perRequestUs = (ms: number) => round1((ms * 1_000) / Math.max(1, result.requests.total));
        const row: RunResult = {
          run: run === 'static' ? 'static ceiling' : run === 'cached' ? 'caching on' : 'caching off',
          path: verify ? 'GET /credentials/:id' : 'GET /static/ping',
          rps: Math.round(result.requests.total / result.duration),
          p50Ms: round1(result.latency.p50),
          p99Ms: round1(result.latency.p99),
          maxMs: round1(result.latency.max),
          requests: result.requests.total,
          failed: result.non2xx + result.errors + result.timeouts,
          dbQueries: queries,
          dbQps: round1(queries / result.duration),
          queriesPerRequest: result.requests.total > 0 ? Number((queries / result.requests.total).toFixed(4)) : 0,
          appCpuUsPerReq: perRequestUs(appCpu),
          redisCpuUsPerReq: perRequestUs(redisCpu),
          ...(primeQueries !== undefined ? { primeQueries } : {}),
        };
        if (row.failed > 0) log(`[${run}] ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
        results.push(row);
        log(`[${run}] ${row.rps} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.dbQps} db queries/s, CPU per request: app ${row.appCpuUsPerReq} µs, Redis ${row.redisCpuUsPerReq} µs`);
      } finally {
        await app.stop();
        const warnings = app.warnings();
        if (warnings.length > 0) log(`[${run}] the app warned ${warnings.length} time(s):\n  ${warnings.slice(0, 10).join('\n  ')}`);
      }
    }
  } finally {
    const deleted = await deleteMatching(redis.url, `${namespace}*`).catch(() => -1);
    log(`\ncleaned up ${deleted} cache keys of run ${runId}`);
    await database.drop().catch((error: Error) => log(`could not drop the bench database: ${error.message}`));
    const version = await redisVersion(redis.url).catch(() => 'unknown');
    await redis.stop();
    if (profileDir) {
      log(`\nCPU profiles in ${profileDir}`);
      for (const run of RUNS) log(`\n[${run}] where the app's CPU time went (self time, whole process life):\n${summarizeProfiles(join(profileDir, run))}`);
    }
    if (results.length > 0) report(results, { runId, redis: `${redis.source}, Redis ${version}`, database: database.source, wallS: round1((epochMs() - started) / 1000) });
  }
}

/** One GET of each kind, so that a broken app fails the bench before any load, and the body sizes for the notes. */
async function sanityCheck(app: AppProcess, id: string): Promise<void> {
  for (const path of [`/credentials/${id}`, '/static/ping']) {
    const response = await fetch(`${app.url}${path}`, { headers: { accept: 'application/json' } });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${body.slice(0, 200)}`);
    bodySizes[path.startsWith('/static') ? 'static' : 'verify'] = body.length;
  }
}
const bodySizes: Record<'static' | 'verify', number> = { static: 0, verify: 0 };

async function dbQueries(app: AppProcess): Promise<number> {
  const response = await fetch(`${app.url}/stats/db`);
  return ((await response.json()) as { queries: number }).queries;
}

/** autocannon against `url`, each request's path from `path()` (the same per-request set-up cost for every run). */
function cannon(url: string, options: { connections: number; duration?: number; amount?: number; path: () => string }): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.duration }),
    headers: { accept: 'application/json' },
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          request.path = options.path();
          return request;
        },
      },
    ],
  });
}

function sequential(ids: readonly string[]): () => string {
  let next = 0;
  return () => `/credentials/${ids[next++ % ids.length]}`;
}

function report(results: RunResult[], environment: { runId: string; redis: string; database: string; wallS: number }): void {
  const byRun = (name: string) => results.find((row) => row.run === name);
  const cached = byRun('caching on');
  const uncached = byRun('caching off');
  const ceiling = byRun('static ceiling');
  const queriesPerRequestUncached = uncached && uncached.queriesPerRequest > 0 ? uncached.queriesPerRequest : undefined;
  if (cached && queriesPerRequestUncached) cached.hitRate = Number(Math.max(0, 1 - cached.queriesPerRequest / queriesPerRequestUncached).toFixed(4));
  if (uncached) uncached.hitRate = 0;

  const dbQueryRatio = cached && uncached && uncached.dbQps > 0 ? Number((cached.dbQps / uncached.dbQps).toFixed(5)) : undefined;
  const queriesPerRequestRatio = cached && queriesPerRequestUncached ? Number((cached.queriesPerRequest / queriesPerRequestUncached).toFixed(5)) : undefined;
  const rpsVsStatic = cached && ceiling ? Number((cached.rps / ceiling.rps).toFixed(3)) : undefined;
  const targets = {
    dbQueries: { target: `cached db queries/s <= ${MAX_DB_QUERY_RATIO * 100} % of uncached`, ratio: dbQueryRatio, met: dbQueryRatio === undefined ? undefined : dbQueryRatio <= MAX_DB_QUERY_RATIO },
    throughput: { target: `cached req/s >= ${MIN_RPS_VS_STATIC} x static`, ratio: rpsVsStatic, met: rpsVsStatic === undefined ? undefined : rpsVsStatic >= MIN_RPS_VS_STATIC },
  };

  log(`\nAward-ceremony load test: ${CONNECTIONS} connections, ${DURATION_S} s per run, ${Math.round(HOT_SHARE * 100)} % on ${HOT_IDS} hot ids, ${CREDENTIALS.toLocaleString('en')} seeded`);
  log(textTable(results as unknown as Record<string, unknown>[], ['run', 'path', 'rps', 'p50Ms', 'p99Ms', 'maxMs', 'requests', 'failed', 'dbQps', 'queriesPerRequest', 'hitRate', 'appCpuUsPerReq', 'redisCpuUsPerReq']));
  log(`\ndatabase queries/s, cached / uncached: ${fmtRatio(dbQueryRatio)} (target <= ${MAX_DB_QUERY_RATIO * 100} %: ${metText(targets.dbQueries.met)}); per request: ${fmtRatio(queriesPerRequestRatio)}`);
  log(`req/s, cached / static: ${rpsVsStatic ?? '-'} (target >= ${MIN_RPS_VS_STATIC}: ${metText(targets.throughput.met)})`);

  const pick = (row: RunResult | undefined) =>
    row && { rps: row.rps, p50Ms: row.p50Ms, p99Ms: row.p99Ms, dbQps: row.dbQps, queriesPerRequest: row.queriesPerRequest, hitRate: row.hitRate, failed: row.failed, appCpuUsPerReq: row.appCpuUsPerReq, redisCpuUsPerReq: row.redisCpuUsPerReq };
  const summary = {
    bench: 'ceremony',
    title: 'Award-ceremony load test',
    description:
      `${CONNECTIONS} concurrent scanners for ${DURATION_S} s per run (autocannon, in its own process), ${Math.round(HOT_SHARE * 100)} % of requests on ` +
      `${HOT_IDS} hot credentials and the rest spread over ${CREDENTIALS.toLocaleString('en')} seeded ones, against the demo app on Fastify with ` +
      `Redis and ${environment.database}: caching on, caching off (CACHE_DISABLED=1), and GET /static/ping (same body shape, no cache, no database).`,
    tables: { [`${CONNECTIONS} connections, ${DURATION_S} s per run`]: results },
    cached: pick(cached),
    uncached: pick(uncached),
    static: ceiling && { rps: ceiling.rps, p50Ms: ceiling.p50Ms, p99Ms: ceiling.p99Ms, appCpuUsPerReq: ceiling.appCpuUsPerReq },
    dbQueryRatio,
    queriesPerRequestRatio,
    rpsVsStatic,
    targets,
    notes: [
      'Each run is a fresh app process; before each verify run every seeded credential is verified once (issue writes through, so the ceremony\'s certificates are cached before it starts), then a warm-up of the same mix.',
      'hitRate = 1 - (queries per request with caching) / (queries per request without); the verify path is cached in the service, so there is no X-Cache header.',
      `Bodies: ${bodySizes.verify} bytes (verify), ${bodySizes.static} bytes (static). The app, Redis and autocannon share the machine's ${cpus().length} cores, so req/s is set by the CPU all three need per request: appCpuUsPerReq and redisCpuUsPerReq are the app's and Redis's CPU time (user + system) per request during the run (/proc and INFO cpu; 10 ms ticks).`,
    ],
    environment: {
      ...environment,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      credentials: CREDENTIALS,
      hotIds: HOT_IDS,
      hotShare: HOT_SHARE,
      cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
      loadavg: loadavg().map((value) => value.toFixed(2)).join(' '),
      node: process.version,
    },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(summary, null, 2)}\n`);
  log(`wrote ${RESULTS_FILE.slice(ROOT.length + 1)}`);
  log(JSON.stringify(summary));
}

function fmtRatio(ratio: number | undefined): string {
  return ratio === undefined ? '-' : `${(ratio * 100).toFixed(3)} %`;
}

function metText(met: boolean | undefined): string {
  return met === undefined ? 'not measured' : met ? 'met' : 'NOT met';
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
