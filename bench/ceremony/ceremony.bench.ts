import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AppProcess, startApp } from './app-process';
import { findBenchDatabase, seedAndListIds } from './database';
import { summarizeProfiles } from './profile-summary';
import { deleteMatching, findBenchRedis, redisCpuMs, redisVersion } from '../support/redis';
import { epochMs, median, pairedRatios, round1, textTable } from '../support/stats';

/**
 * `npm run bench:ceremony`: the award ceremony of issue 6. Hundreds of people scan the QR codes of a few
 * certificates at once (the hot set), while the rest of the seeded credentials get the odd scan (the long tail).
 * The demo app runs on Fastify with a real Redis and a real database. One app process serves the two paths that are
 * compared: GET /credentials/:id with caching on, and GET /static/ping (a body of the same shape with no cache and no
 * database: the framework's ceiling; and, for context, GET /static/ping/:id, the same body behind the route's id
 * parameter), measured in alternating rounds (static first in even rounds), because this
 * host's speed drifts by up to 2x over minutes: the ratio reported is the median of the per-round ratios. They share a
 * process because two app processes of the same build and configuration, measured side by side on the static path,
 * differed by 7-17 % in req/s: more than the effect measured. Caching off (CACHE_DISABLED=1: every policy `cache: false`) runs in a fresh process of its own,
 * measured once, afterwards; it is there for its database queries. autocannon runs here, in the bench process.
 *
 * Reported per run: req/s, p50/p99 latency, database queries per second (GET /stats/db before and after), queries
 * per request and the hit rate derived from them (the verify path is cached in the service, so there is no X-Cache
 * header to count). Prints a table, writes bench/results/ceremony.json, and prints one JSON summary as the last line.
 *
 * Environment (all optional): CEREMONY_DURATION_S (30, per measurement), CEREMONY_ROUNDS (3), CEREMONY_CONNECTIONS (800), CEREMONY_CREDENTIALS (20000),
 * CEREMONY_HOT_IDS (5), CEREMONY_HOT_SHARE (0.8), CEREMONY_WARMUP_S (5), CEREMONY_RUNS (static,static-id,cached,uncached),
 * CEREMONY_CPU_PROF=1 (profile each app process and print where its time went), REDIS_URL, DATABASE_URL.
 */

const ROOT = resolve(__dirname, '..', '..');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'ceremony.json');

const DURATION_S = envNumber('CEREMONY_DURATION_S', 30);
const ROUNDS = Math.max(1, Math.round(envNumber('CEREMONY_ROUNDS', 3)));
const CONNECTIONS = envNumber('CEREMONY_CONNECTIONS', 800);
const CREDENTIALS = envNumber('CEREMONY_CREDENTIALS', 20_000);
const HOT_IDS = envNumber('CEREMONY_HOT_IDS', 5);
const HOT_SHARE = envNumber('CEREMONY_HOT_SHARE', 0.8);
const WARMUP_S = envNumber('CEREMONY_WARMUP_S', 5);
const CPU_PROF = process.env.CEREMONY_CPU_PROF === '1';
const PRIME_CONNECTIONS = 100;

/** Each run's row label and route (`:id` is a credential id, picked per request). */
const RUN_SPECS = {
  static: { label: 'static ceiling', route: '/static/ping' },
  'static-id': { label: 'static, with the id parameter', route: '/static/ping/:id' },
  cached: { label: 'caching on', route: '/credentials/:id' },
  uncached: { label: 'caching off', route: '/credentials/:id' },
} as const;
type RunName = keyof typeof RUN_SPECS;
const RUNS = (process.env.CEREMONY_RUNS ?? 'static,static-id,cached,uncached').split(',').map((name) => name.trim()) as RunName[];
/** The runs measured on one app process, in alternating rounds (caching off has a process of its own). */
const PAIRED_RUNS = RUNS.filter((run) => run !== 'uncached');
/** The app process of each group of runs, named after the runs it serves. */
const APP_NAMES = [PAIRED_RUNS.join('+'), ...(RUNS.includes('uncached') ? ['uncached'] : [])].filter(Boolean);

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
  /** Measurements aggregated into this row. */
  rounds: number;
}

/** One measurement of one path: DURATION_S of load. */
interface Measurement {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  durationS: number;
  failed: number;
  queries: number;
  appCpuMs: number;
  redisCpuMs: number;
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
  const primeQueriesByRun: Partial<Record<RunName, number>> = {};
  /** cached / static req/s of each round. */
  const rpsRatios: number[] = [];
  /** cached / static-with-id req/s of each round (context: Nest's parameter handling). */
  const idRouteRatios: number[] = [];
  try {
    const seedStarted = Date.now();
    const { ids, hotIds } = await seedAndListIds(database.target, CREDENTIALS, HOT_IDS);
    log(`seeded ${ids.length.toLocaleString('en')} credentials in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s; hot: ${hotIds.join(', ')}`);
    const pickId = () => (Math.random() < HOT_SHARE ? hotIds[Math.floor(Math.random() * hotIds.length)] : ids[Math.floor(Math.random() * ids.length)]);
    // VERIFY_RATE_LIMIT=0: autocannon's 800 connections come from one address, a ceremony's phones from 800.
    const baseEnv = { ...database.env, REDIS_URL: redis.url, CACHE_NAMESPACE: namespace, SEED_ON_START: '0', VERIFY_RATE_LIMIT: '0' };
    const pathOf = (run: RunName) => () => RUN_SPECS[run].route.replace(':id', () => pickId());
    const withApp = async (name: string, env: Record<string, string>, body: (app: AppProcess) => Promise<void>) => {
      const app = await startApp({ env, cpuProfileDir: profileDir && join(profileDir, name) });
      try {
        log(`\n[${name}] app pid ${app.pid} on ${app.url}`);
        await sanityCheck(app, hotIds[0]);
        await body(app);
      } finally {
        await app.stop();
        const warnings = app.warnings();
        if (warnings.length > 0) log(`[${name}] the app warned ${warnings.length} time(s):\n  ${warnings.slice(0, 10).join('\n  ')}`);
      }
    };

    const measured = new Map<RunName, Measurement[]>();
    const record = (run: RunName, measurement: Measurement, label: string) => {
      log(`[${run}] ${label}: ${measurement.rps} req/s, p99 ${measurement.p99Ms} ms, CPU per request: app ${perRequestUs(measurement.appCpuMs, measurement.requests)} µs`);
      measured.set(run, [...(measured.get(run) ?? []), measurement]);
    };
    if (PAIRED_RUNS.length > 0) {
      await withApp(APP_NAMES[0], { ...baseEnv, CACHE_DISABLED: '0' }, async (app) => {
        if (PAIRED_RUNS.includes('cached')) primeQueriesByRun.cached = await prime(app, ids);
        for (const run of PAIRED_RUNS) if (WARMUP_S > 0) await cannon(app.url, { connections: CONNECTIONS, duration: WARMUP_S, path: pathOf(run) });
        for (let round = 0; round < ROUNDS; round++) {
          for (const run of round % 2 === 0 ? PAIRED_RUNS : [...PAIRED_RUNS].reverse()) {
            record(run, await measure(app, redis.url, run, pathOf(run)), `round ${round + 1}/${ROUNDS}`);
          }
        }
      });
    }
    if (RUNS.includes('uncached')) {
      await withApp('uncached', { ...baseEnv, CACHE_DISABLED: '1' }, async (app) => {
        // Primed too: warms its JIT and connection pool the same way.
        primeQueriesByRun.uncached = await prime(app, ids);
        if (WARMUP_S > 0) await cannon(app.url, { connections: CONNECTIONS, duration: WARMUP_S, path: pathOf('uncached') });
        record('uncached', await measure(app, redis.url, 'uncached', pathOf('uncached')), 'once');
      });
    }
    for (const run of RUNS) {
      const rows = measured.get(run);
      if (rows) results.push(aggregate(run, rows, primeQueriesByRun[run]));
    }
    rpsRatios.push(...pairedRatios(measured.get('cached') ?? [], measured.get('static') ?? [], (measurement) => measurement.rps));
    idRouteRatios.push(...pairedRatios(measured.get('cached') ?? [], measured.get('static-id') ?? [], (measurement) => measurement.rps));
  } finally {
    const deleted = await deleteMatching(redis.url, `${namespace}*`).catch(() => -1);
    log(`\ncleaned up ${deleted} cache keys of run ${runId}`);
    await database.drop().catch((error: Error) => log(`could not drop the bench database: ${error.message}`));
    const version = await redisVersion(redis.url).catch(() => 'unknown');
    await redis.stop();
    if (profileDir) {
      log(`\nCPU profiles in ${profileDir}`);
      for (const app of APP_NAMES) log(`\n[${app}] where the app's CPU time went (self time, whole process life):\n${summarizeProfiles(join(profileDir, app))}`);
    }
    if (results.length > 0) report(results, rpsRatios, idRouteRatios, { runId, redis: `${redis.source}, Redis ${version}`, database: database.source, wallS: round1((epochMs() - started) / 1000) });
  }
}

/**
 * Every seeded credential verified once before the measurement, as issue writes each one through to the cache: the
 * ceremony's certificates were issued before it started. Resolves to the database queries it took.
 */
async function prime(app: AppProcess, ids: readonly string[]): Promise<number> {
  const before = await dbQueries(app);
  const primed = await cannon(app.url, { connections: PRIME_CONNECTIONS, amount: ids.length, path: sequential(ids) });
  const queries = (await dbQueries(app)) - before;
  const failed = primed.non2xx + primed.errors + primed.timeouts;
  if (failed > 0) log(`${failed} of the priming requests failed (${primed.non2xx} non-2xx, ${primed.errors} errors, ${primed.timeouts} timeouts)`);
  log(`primed ${ids.length.toLocaleString('en')} credentials in ${primed.duration.toFixed(1)} s (${queries.toLocaleString('en')} queries)`);
  return queries;
}

/** DURATION_S of load on one path, with the database queries and the app's and Redis's CPU time it cost. */
async function measure(app: AppProcess, redisUrl: string, run: RunName, path: () => string): Promise<Measurement> {
  const before = await dbQueries(app);
  const [appCpuBefore, redisCpuBefore] = [app.cpuMs(), await redisCpuMs(redisUrl)];
  const result = await cannon(app.url, { connections: CONNECTIONS, duration: DURATION_S, path });
  const appCpuMs = app.cpuMs() - appCpuBefore;
  const redisCpuSpentMs = (await redisCpuMs(redisUrl)) - redisCpuBefore;
  const queries = (await dbQueries(app)) - before;
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) log(`[${run}] ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  return {
    rps: Math.round(result.requests.total / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    requests: result.requests.total,
    durationS: result.duration,
    failed,
    queries,
    appCpuMs,
    redisCpuMs: redisCpuSpentMs,
  };
}

/** One row from a path's measurements: medians of the rates and latencies, totals of the counts. */
function aggregate(run: RunName, measurements: readonly Measurement[], primeQueries: number | undefined): RunResult {
  const sum = (pick: (measurement: Measurement) => number) => measurements.reduce((total, measurement) => total + pick(measurement), 0);
  const requests = sum((measurement) => measurement.requests);
  const queries = sum((measurement) => measurement.queries);
  return {
    run: RUN_SPECS[run].label,
    path: `GET ${RUN_SPECS[run].route}`,
    rps: Math.round(median(measurements.map((measurement) => measurement.rps))),
    p50Ms: round1(median(measurements.map((measurement) => measurement.p50Ms))),
    p99Ms: round1(median(measurements.map((measurement) => measurement.p99Ms))),
    maxMs: round1(Math.max(...measurements.map((measurement) => measurement.maxMs))),
    requests,
    failed: sum((measurement) => measurement.failed),
    dbQueries: queries,
    dbQps: round1(queries / sum((measurement) => measurement.durationS)),
    queriesPerRequest: requests > 0 ? Number((queries / requests).toFixed(4)) : 0,
    appCpuUsPerReq: perRequestUs(sum((measurement) => measurement.appCpuMs), requests),
    redisCpuUsPerReq: perRequestUs(sum((measurement) => measurement.redisCpuMs), requests),
    ...(primeQueries !== undefined ? { primeQueries } : {}),
    rounds: measurements.length,
  };
}

function perRequestUs(ms: number, requests: number): number {
  return round1((ms * 1_000) / Math.max(1, requests));
}

/** One GET of each kind, so that a broken app fails the bench before any load, and the body sizes for the notes. */
async function sanityCheck(app: AppProcess, id: string): Promise<void> {
  for (const path of [`/credentials/${id}`, '/static/ping', `/static/ping/${id}`]) {
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

function report(results: RunResult[], rpsRatios: readonly number[], idRouteRatios: readonly number[], environment: { runId: string; redis: string; database: string; wallS: number }): void {
  const byRun = (name: string) => results.find((row) => row.run === name);
  const cached = byRun(RUN_SPECS.cached.label);
  const uncached = byRun(RUN_SPECS.uncached.label);
  const ceiling = byRun(RUN_SPECS.static.label);
  const queriesPerRequestUncached = uncached && uncached.queriesPerRequest > 0 ? uncached.queriesPerRequest : undefined;
  if (cached && queriesPerRequestUncached) cached.hitRate = Number(Math.max(0, 1 - cached.queriesPerRequest / queriesPerRequestUncached).toFixed(4));
  if (uncached) uncached.hitRate = 0;

  const dbQueryRatio = cached && uncached && uncached.dbQps > 0 ? Number((cached.dbQps / uncached.dbQps).toFixed(5)) : undefined;
  const queriesPerRequestRatio = cached && queriesPerRequestUncached ? Number((cached.queriesPerRequest / queriesPerRequestUncached).toFixed(5)) : undefined;
  const rpsVsStatic = rpsRatios.length > 0 ? Number(median(rpsRatios).toFixed(3)) : undefined;
  const rpsVsStaticWithId = idRouteRatios.length > 0 ? Number(median(idRouteRatios).toFixed(3)) : undefined;
  const targets = {
    dbQueries: { target: `cached db queries/s <= ${MAX_DB_QUERY_RATIO * 100} % of uncached`, ratio: dbQueryRatio, met: dbQueryRatio === undefined ? undefined : dbQueryRatio <= MAX_DB_QUERY_RATIO },
    throughput: { target: `cached req/s >= ${MIN_RPS_VS_STATIC} x static`, ratio: rpsVsStatic, met: rpsVsStatic === undefined ? undefined : rpsVsStatic >= MIN_RPS_VS_STATIC },
  };

  log(`\nAward-ceremony load test: ${CONNECTIONS} connections, ${DURATION_S} s per measurement (static and cached: ${ROUNDS} alternating rounds), ${Math.round(HOT_SHARE * 100)} % on ${HOT_IDS} hot ids, ${CREDENTIALS.toLocaleString('en')} seeded`);
  log(textTable(results as unknown as Record<string, unknown>[], ['run', 'path', 'rps', 'p50Ms', 'p99Ms', 'maxMs', 'requests', 'failed', 'dbQps', 'queriesPerRequest', 'hitRate', 'appCpuUsPerReq', 'redisCpuUsPerReq', 'rounds']));
  log(`\ndatabase queries/s, cached / uncached: ${fmtRatio(dbQueryRatio)} (target <= ${MAX_DB_QUERY_RATIO * 100} %: ${metText(targets.dbQueries.met)}); per request: ${fmtRatio(queriesPerRequestRatio)}`);
  log(`req/s, cached / static: ${rpsVsStatic ?? '-'}, median of the rounds' ${rpsRatios.map((ratio) => ratio.toFixed(3)).join(', ') || '-'} (target >= ${MIN_RPS_VS_STATIC}: ${metText(targets.throughput.met)})`);
  log(`req/s, cached / static with the id parameter: ${rpsVsStaticWithId ?? '-'}, median of the rounds' ${idRouteRatios.map((ratio) => ratio.toFixed(3)).join(', ') || '-'} (context, not a target)`);

  const pick = (row: RunResult | undefined) =>
    row && { rps: row.rps, p50Ms: row.p50Ms, p99Ms: row.p99Ms, dbQps: row.dbQps, queriesPerRequest: row.queriesPerRequest, hitRate: row.hitRate, failed: row.failed, appCpuUsPerReq: row.appCpuUsPerReq, redisCpuUsPerReq: row.redisCpuUsPerReq };
  const summary = {
    bench: 'ceremony',
    title: 'Award-ceremony load test',
    description:
      `${CONNECTIONS} concurrent scanners for ${DURATION_S} s per measurement (autocannon, in its own process), ${Math.round(HOT_SHARE * 100)} % of requests on ` +
      `${HOT_IDS} hot credentials and the rest spread over ${CREDENTIALS.toLocaleString('en')} seeded ones, against the demo app on Fastify with ` +
      `Redis and ${environment.database}: caching on, caching off (CACHE_DISABLED=1), and GET /static/ping (same body shape, no cache, no database).`,
    tables: { [`${CONNECTIONS} connections, ${DURATION_S} s per measurement`]: results },
    cached: pick(cached),
    uncached: pick(uncached),
    static: ceiling && { rps: ceiling.rps, p50Ms: ceiling.p50Ms, p99Ms: ceiling.p99Ms, appCpuUsPerReq: ceiling.appCpuUsPerReq },
    dbQueryRatio,
    queriesPerRequestRatio,
    rpsVsStatic,
    rpsVsStaticByRound: rpsRatios.map((ratio) => Number(ratio.toFixed(3))),
    rpsVsStaticWithId,
    rpsVsStaticWithIdByRound: idRouteRatios.map((ratio) => Number(ratio.toFixed(3))),
    targets,
    notes: [
      `Static and cached are two paths of one app process, measured in ${ROUNDS} alternating rounds of ${DURATION_S} s each (static first in even rounds): rps, p50 and p99 are medians over the rounds, counts and CPU are totals, and rpsVsStatic is the median of the per-round ratios (this host\'s speed drifts by up to 2x over minutes, and two app processes of the same build and configuration differed by 7-17 % on the static path, so the ceiling is measured on the same process). Caching off runs in a fresh process of its own, measured once, afterwards.`,
      'Before the measurements every seeded credential is verified once (issue writes through, so the ceremony\'s certificates are cached before it starts), then each path gets a warm-up of the same mix.',
      'hitRate = 1 - (queries per request with caching) / (queries per request without); the verify path is cached in the service, so there is no X-Cache header.',
      'GET /static/ping/:id answers the static body behind the verification route\'s id parameter (same pipe, plus the global validation pipe), measured in the same alternating rounds: what Nest\'s parameter handling costs by itself. rpsVsStaticWithId (cached / that route) is context; the target is against GET /static/ping.',
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
