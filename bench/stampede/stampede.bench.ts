import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { CONTENDERS, type ContenderId, type ContenderSpec, contender } from './contenders';
import type { ChildMessage, ParentMessage } from './child';
import type { BurstResult, SteadyResult } from './workload';
import { assertPeersInstalled } from '../support/peers';
import { deleteMatching, findBenchRedis, redisVersion } from '../support/redis';
import { epochMs, round1, summarize, textTable } from '../support/stats';

/**
 * `npm run bench:stampede`: how many times does the loader run, and how long do callers wait, when many callers want
 * one key that is not cached? Naive cache-aside, the seed's SET NX + sleep lock, @nestjs/cache-manager, bentocache and
 * ours, side by side in one run against one Redis:
 *   (a) 1 process x 1,000 concurrent callers on a cold key, loader 50 ms;
 *   (b) 4 processes x 250 callers on a cold key, the processes started together by a 'go' message;
 *   (c) a hot key at 200 req/s for 11 expiries (TTL 2 s): synchronous misses (callers answered with a value loaded
 *       after they called, i.e. that waited for a load) and loader calls; ours plain, with stale-while-revalidate,
 *       and with XFetch.
 * Every measurement runs in fresh worker processes (child.ts) that host one library only; (a) and (b) measure the
 * libraries one after the other, (c) runs them all at once, one process and key each, to fit in the time.
 * Prints a table per scenario, writes bench/results/stampede.json, and prints one JSON summary as the last line.
 */

const ROOT = resolve(__dirname, '..', '..');
const REGISTER = join(ROOT, 'test', 'support', 'swc-register.js');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'stampede.json');

const LOADER_MS = 50;
const TARGET_SLACK_MS = 25;
const A = { callers: 1_000, warmUpCallers: 20, ttlMs: 60_000 };
const B = { processes: 4, callersPerProcess: 250, warmUpCallers: 20, ttlMs: 60_000 };
const C = { ratePerSec: 200, ttlMs: 2_000, expiries: 11, slowMs: 10 };
/** Workers are told to start this long after the message is sent, so that they all start at the same instant. */
const START_DELAY_MS = 50;

/** STAMPEDE_CONTENDERS=ours,bentocache runs only those (for a quick look; `npm run bench` runs all). */
const ONLY = process.env.STAMPEDE_CONTENDERS?.split(',').map((name) => name.trim());
const chosen = (ids: ContenderId[]) => ids.filter((id) => !ONLY || ONLY.includes(id));
const BURST_CONTENDERS = chosen(['naive', 'seed-lock', 'cache-manager', 'bentocache', 'ours']);
const STEADY_CONTENDERS = chosen(['naive', 'seed-lock', 'cache-manager', 'bentocache', 'ours', 'ours-swr', 'ours-xfetch', 'ours-xfetch-nolock']);

type Scenario = 'a' | 'b' | 'c';
/** STAMPEDE_SCENARIOS=a,c runs only those (for a quick look; `npm run bench` runs all three). */
const SCENARIOS = new Set((process.env.STAMPEDE_SCENARIOS ?? 'a,b,c').split(',').map((name) => name.trim()));

/** One library in one scenario. */
interface Row {
  scenario: Scenario;
  id: ContenderId;
  library: string;
  loaderCalls: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  wallMs: number;
  calls: number;
  errors: number;
  requests?: number;
  syncMisses?: number;
  slowCalls?: number;
  /** Bursts: per process, ms after the first call of the burst (any process) when its loader started and ended, and its first and last answers. */
  timeline?: { loaderStartMs?: number; loaderEndMs?: number; firstAnswerMs?: number; lastAnswerMs: number }[];
  target: string;
  meetsTarget?: boolean;
}

const log = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  assertPeersInstalled();
  const redis = await findBenchRedis();
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const runPrefix = `bench:stampede:${runId}`;
  const started = epochMs();
  log(`stampede benchmark, run ${runId}, Redis ${redis.url} (${redis.source}), loader ${LOADER_MS} ms`);
  const rows: Row[] = [];
  try {
    if (SCENARIOS.has('a')) rows.push(...(await scenarioA(redis.url, `${runPrefix}:a`)));
    if (SCENARIOS.has('b')) rows.push(...(await scenarioB(redis.url, `${runPrefix}:b`)));
    if (SCENARIOS.has('c')) rows.push(...(await scenarioC(redis.url, `${runPrefix}:c`)));
  } finally {
    const deleted = await deleteMatching(redis.url, `*${runId}*`).catch(() => -1);
    log(`cleaned up ${deleted} keys of run ${runId}`);
    const version = await redisVersion(redis.url).catch(() => 'unknown');
    await redis.stop();
    if (rows.length > 0) report(rows, { runId, redisSource: redis.source, redisVersion: version, wallS: (epochMs() - started) / 1000 });
  }
}

/** (a) one process, 1,000 concurrent callers, cold key. */
async function scenarioA(redisUrl: string, prefix: string): Promise<Row[]> {
  log(`\n(a) 1 process x ${A.callers} concurrent callers, cold key`);
  const rows: Row[] = [];
  for (const id of BURST_CONTENDERS) {
    const results = await withWorkers(1, { type: 'open', id, redisUrl, prefix: `${prefix}:${id}`, ttlMs: A.ttlMs }, async (workers) => {
      await burstAll(workers, 'warm-up', A.warmUpCallers);
      return burstAll(workers, 'cold', A.callers);
    });
    rows.push(burstRow('a', contender(id), results));
    logRow(rows[rows.length - 1]);
  }
  return rows;
}

/** (b) four processes, 250 callers each, started together, cold key. */
async function scenarioB(redisUrl: string, prefix: string): Promise<Row[]> {
  log(`\n(b) ${B.processes} processes x ${B.callersPerProcess} callers, cold key, processes started together`);
  const rows: Row[] = [];
  for (const id of BURST_CONTENDERS) {
    const results = await withWorkers(B.processes, { type: 'open', id, redisUrl, prefix: `${prefix}:${id}`, ttlMs: B.ttlMs }, async (workers) => {
      await burstAll(workers, 'warm-up', B.warmUpCallers);
      return burstAll(workers, 'cold', B.callersPerProcess);
    });
    rows.push(burstRow('b', contender(id), results));
    logRow(rows[rows.length - 1]);
  }
  return rows;
}

/** (c) a hot key at a steady rate across many expiries; every contender at the same time, each in its own process. */
async function scenarioC(redisUrl: string, prefix: string): Promise<Row[]> {
  const durationMs = C.expiries * C.ttlMs;
  log(`\n(c) hot key, ${C.ratePerSec} req/s for ${durationMs / 1000} s (TTL ${C.ttlMs / 1000} s, ${C.expiries} expiries); all contenders at once, one process and key each`);
  const workers = await Promise.all(STEADY_CONTENDERS.map(() => Worker.start()));
  try {
    await Promise.all(
      workers.map((worker, i) => worker.request({ type: 'open', id: STEADY_CONTENDERS[i], redisUrl, prefix: `${prefix}:${STEADY_CONTENDERS[i]}`, ttlMs: C.ttlMs }, 'ready')),
    );
    const startAt = epochMs() + START_DELAY_MS;
    const message: ParentMessage = { type: 'steady', key: 'hot', ratePerSec: C.ratePerSec, durationMs, loaderMs: LOADER_MS, slowMs: C.slowMs, startAt };
    const results = await Promise.all(workers.map((worker) => worker.request(message, 'done')));
    const rows = results.map((reply, i) => steadyRow(contender(STEADY_CONTENDERS[i]), (reply as DoneMessage).result as SteadyResult));
    rows.forEach(logRow);
    return rows;
  } finally {
    await Promise.all(workers.map((worker) => worker.close()));
  }
}

type DoneMessage = Extract<ChildMessage, { type: 'done' }>;

/** Starts `count` fresh workers, opens the contender in each, runs `body`, and closes them whatever happens. */
async function withWorkers<T>(count: number, open: Extract<ParentMessage, { type: 'open' }>, body: (workers: Worker[]) => Promise<T>): Promise<T> {
  const workers = await Promise.all(Array.from({ length: count }, () => Worker.start()));
  try {
    await Promise.all(workers.map((worker) => worker.request(open, 'ready')));
    return await body(workers);
  } finally {
    await Promise.all(workers.map((worker) => worker.close()));
  }
}

/** One burst of `callers` per worker, all workers starting at the same instant. */
async function burstAll(workers: Worker[], key: string, callers: number): Promise<BurstResult[]> {
  const startAt = epochMs() + START_DELAY_MS;
  const replies = await Promise.all(workers.map((worker) => worker.request({ type: 'burst', key, callers, loaderMs: LOADER_MS, startAt }, 'done')));
  return replies.map((reply) => (reply as DoneMessage).result);
}

function burstRow(scenario: 'a' | 'b', spec: ContenderSpec, results: BurstResult[]): Row {
  const { count, ...stats } = summarize(results.flatMap((r) => r.latenciesMs));
  const loaderCalls = results.reduce((sum, r) => sum + r.loaderCalls, 0);
  const wallMs = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const meetsTarget = loaderCalls === 1 && stats.p99Ms <= LOADER_MS + TARGET_SLACK_MS && errors === 0;
  const firstError = results.find((r) => r.firstError)?.firstError;
  if (firstError) log(`  ${spec.id}: ${errors} errors, first: ${firstError}`);
  const origin = Math.min(...results.map((r) => r.startedAt));
  const since = (at: number | undefined) => (at === undefined ? undefined : round1(at - origin));
  const timeline = results.map((r) => ({
    loaderStartMs: since(r.loaderStartedAt),
    loaderEndMs: since(r.loaderEndedAt),
    firstAnswerMs: since(r.firstAnswerAt),
    lastAnswerMs: round1(r.endedAt - origin),
  }));
  return {
    scenario,
    id: spec.id,
    library: spec.label,
    loaderCalls,
    ...stats,
    wallMs: round1(wallMs),
    calls: count,
    errors,
    timeline,
    target: `1 loader call, p99 <= ${LOADER_MS + TARGET_SLACK_MS} ms`,
    meetsTarget: spec.side === 'ours' ? meetsTarget : undefined,
  };
}

function steadyRow(spec: ContenderSpec, result: SteadyResult): Row {
  const { count, ...stats } = summarize(result.latenciesMs);
  if (result.firstError) log(`  ${spec.id}: ${result.errors} errors, first: ${result.firstError}`);
  const protectedVariant = spec.id === 'ours-swr' || spec.id === 'ours-xfetch' || spec.id === 'ours-xfetch-nolock';
  return {
    scenario: 'c',
    id: spec.id,
    library: spec.label,
    loaderCalls: result.loaderCalls,
    ...stats,
    wallMs: round1(result.endedAt - result.startedAt),
    calls: count,
    errors: result.errors,
    requests: result.requests,
    syncMisses: result.syncMisses,
    slowCalls: result.slowCalls,
    target: protectedVariant ? '0 synchronous misses' : 'none (reference)',
    meetsTarget: protectedVariant ? result.syncMisses === 0 && result.errors === 0 : undefined,
  };
}

function logRow(row: Row): void {
  const extra = row.scenario === 'c' ? `, sync misses ${row.syncMisses}, calls >= ${C.slowMs} ms ${row.slowCalls}` : '';
  log(`  ${row.library.padEnd(34)} loader calls ${String(row.loaderCalls).padStart(4)}, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, max ${row.maxMs} ms${extra}`);
}

const COLUMNS: Record<Scenario, string[]> = {
  a: ['library', 'loaderCalls', 'p50Ms', 'p99Ms', 'maxMs', 'wallMs', 'errors', 'meetsTarget'],
  b: ['library', 'loaderCalls', 'p50Ms', 'p99Ms', 'maxMs', 'wallMs', 'errors', 'meetsTarget'],
  c: ['library', 'requests', 'loaderCalls', 'syncMisses', 'slowCalls', 'p50Ms', 'p99Ms', 'maxMs', 'wallMs', 'errors', 'meetsTarget'],
};
const TITLES: Record<Scenario, string> = {
  a: `(a) 1 process x ${A.callers} concurrent callers, cold key, loader ${LOADER_MS} ms`,
  b: `(b) ${B.processes} processes x ${B.callersPerProcess} concurrent callers, cold key, loader ${LOADER_MS} ms`,
  c: `(c) hot key at ${C.ratePerSec} req/s, TTL ${C.ttlMs / 1000} s, ${C.expiries} expiries, loader ${LOADER_MS} ms`,
};

function report(rows: Row[], meta: { runId: string; redisSource: string; redisVersion: string; wallS: number }): void {
  const scenarios = (['a', 'b', 'c'] as const).filter((scenario) => rows.some((row) => row.scenario === scenario));
  const tables: Record<string, Record<string, unknown>[]> = {};
  for (const scenario of scenarios) {
    const picked = rows.filter((row) => row.scenario === scenario).map((row) => pick(row, COLUMNS[scenario]));
    tables[TITLES[scenario]] = picked;
    log(`\n${TITLES[scenario]}`);
    log(textTable(picked, COLUMNS[scenario]));
  }
  const notes = targetNotes(rows);
  log('');
  for (const note of notes) log(`- ${note}`);

  const find = (scenario: Scenario, id: ContenderId) => {
    const row = rows.find((candidate) => candidate.scenario === scenario && candidate.id === id);
    return row && compact(row);
  };
  const summary = {
    bench: 'stampede',
    title: 'Cache stampede: loader calls and caller latency',
    description:
      `Many callers want one key that is not cached; the loader takes ${LOADER_MS} ms. Every library runs in the same run against ` +
      `the same Redis, each in fresh worker processes that host it alone, after a warm-up burst on another key. (a) and (b) ` +
      `measure the libraries one after the other; (c) runs them all at once (one process and key each) for ${C.expiries} TTLs. ` +
      `Latency is per caller, from its call to its answer. syncMisses: callers answered with a value loaded after they called ` +
      `(they waited for a load, their own or one they joined; judged from the value, so machine noise does not count); ` +
      `slowCalls: callers that waited at least ${C.slowMs} ms for any reason. Targets: (a) and (b) one loader call with p99 <= ${LOADER_MS + TARGET_SLACK_MS} ms; ` +
      `(c) zero synchronous misses with stale-while-revalidate or XFetch.`,
    loaderMs: LOADER_MS,
    ours: {
      a: find('a', 'ours'),
      b: find('b', 'ours'),
      c: { plain: find('c', 'ours'), swr: find('c', 'ours-swr'), xfetch: find('c', 'ours-xfetch'), xfetchNoLock: find('c', 'ours-xfetch-nolock') },
    },
    peers: Object.fromEntries(
      CONTENDERS.filter((spec) => spec.side === 'peer').map((spec) => [spec.id, { a: find('a', spec.id), b: find('b', spec.id), c: find('c', spec.id) }]),
    ),
    tables,
    notes,
  };
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    loadAverageAtEnd: loadavg().map(round1).join(' '),
    redis: `${meta.redisVersion} (${meta.redisSource})`,
    versions: Object.fromEntries(CONTENDERS.map((spec) => [spec.id, spec.version()])),
    libraryRevision: libraryRevision(),
    runId: meta.runId,
    wallS: round1(meta.wallS),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...summary, environment, config: { A, B, C }, rows }, null, 2)}\n`);
  log(`results written to ${RESULTS_FILE.slice(ROOT.length + 1)}; whole run ${round1(meta.wallS)} s`);
  log(JSON.stringify({ ...summary, environment }));
}

function targetNotes(rows: Row[]): string[] {
  const notes: string[] = [];
  for (const row of rows.filter((candidate) => candidate.meetsTarget !== undefined)) {
    const what =
      row.scenario === 'c'
        ? `${row.syncMisses} synchronous misses, ${row.loaderCalls} loader calls`
        : `${row.loaderCalls} loader call${row.loaderCalls === 1 ? '' : 's'}, p99 ${row.p99Ms} ms`;
    let note = `(${row.scenario}) ${row.library}: ${what}; target ${row.target}: ${row.meetsTarget ? 'met' : 'MISSED'}`;
    if (!row.meetsTarget && row.timeline) note += `. Where the time went: ${timelineText(row, rows)}`;
    notes.push(note);
  }
  return notes;
}

/**
 * Where a burst's time went, across its processes: when the loader ran and when callers were answered, measured from
 * the first call; beside the same for the fastest peer of the scenario.
 */
function timelineText(row: Row, rows: Row[]): string {
  const describe = (subject: Row) => {
    const timeline = subject.timeline ?? [];
    const loader = timeline.find((process) => process.loaderStartMs !== undefined);
    const firstAnswer = Math.min(...timeline.map((process) => process.firstAnswerMs ?? Number.POSITIVE_INFINITY));
    const lastAnswer = Math.max(...timeline.map((process) => process.lastAnswerMs));
    const loaderPart = loader ? `loader ran ${loader.loaderStartMs}-${loader.loaderEndMs} ms, ` : '';
    return `${loaderPart}callers answered ${firstAnswer}-${lastAnswer} ms after the first call`;
  };
  const peers = rows.filter((candidate) => candidate.scenario === row.scenario && contender(candidate.id).side === 'peer' && candidate.timeline);
  const fastest = peers.sort((x, y) => x.p99Ms - y.p99Ms)[0];
  return `${describe(row)}${fastest ? ` (fastest peer, ${fastest.library}: ${describe(fastest)})` : ''}`;
}

/** The commit the library was measured at, and whether libs/cache had uncommitted changes then. */
function libraryRevision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'libs/cache/src') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in libs/cache/src' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function pick(row: Row, columns: string[]): Record<string, unknown> {
  return Object.fromEntries(columns.map((column) => [column, row[column as keyof Row]]));
}

function compact(row: Row): Record<string, unknown> {
  const { scenario, id, library, target, timeline, ...rest } = row;
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
}

/** A worker process (child.ts), spawned with the same require hook, talking over IPC. */
class Worker {
  private waiting: { type: ChildMessage['type']; resolve: (message: ChildMessage) => void; reject: (error: Error) => void } | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => {
      const waiting = this.waiting;
      if (!waiting) return;
      if (message.type === 'error') waiting.reject(new Error(`child ${child.pid}: ${message.message}`));
      else if (message.type === waiting.type) waiting.resolve(message);
      else return;
      this.waiting = undefined;
    });
    child.on('exit', (code) => this.waiting?.reject(new Error(`child ${child.pid} exited with code ${code}`)));
  }

  static async start(): Promise<Worker> {
    return new Worker(fork(join(__dirname, 'child.ts'), [], { execArgv: ['-r', REGISTER], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  }

  request(message: ParentMessage, reply: ChildMessage['type']): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      this.waiting = { type: reply, resolve, reject };
      this.child.send(message);
    });
  }

  async close(): Promise<void> {
    if (!this.child.connected) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request({ type: 'close' }, 'closed').catch(() => undefined);
    const timer = setTimeout(() => this.child.kill(), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`stampede benchmark failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
