import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildMessage, Marks, ParentMessage, RunSummary } from './child';
import { OUTAGE_CONTENDERS, type OutageContenderId, outageContender } from './contenders';
import { RedisProcess } from '../../libs/cache/test/support/redis-process';
import { assertPeersInstalled } from '../support/peers';
import { epochMs, round1, sleep, textTable } from '../support/stats';

/**
 * `npm run bench:outage`: what a Redis outage does to the callers of a cached service method. 50 callers call it
 * back to back over 1,000 keys (a ~5 ms loader; > 90 % hits once warm). Two faults on a redis-server this benchmark
 * spawns: (killed) SIGKILL, restarted on the same port 10 s later (empty, as after a crash); (frozen) SIGSTOP, SIGCONT
 * 10 s later (sockets open, nothing answers, data kept). Ours and @nestjs/cache-manager with the Keyv Redis store
 * of Nest's docs, one after the other, each in a worker process of its own (child.ts) and on a fresh redis-server.
 * Per library and fault: calls that threw, calls that hung (past the harness deadline, or still pending when the
 * run ended), p50/p99/max latency of the calls started during the outage, and seconds from Redis answering again
 * until a rolling 200 ms window has a hit rate above 90 %.
 * Prints a table, writes bench/results/outage.json, and prints one JSON summary as the last line.
 * Durations come from the environment for quick runs, e.g. OUTAGE_FAULT_S=3 OUTAGE_AFTER_S=3 npm run bench:outage.
 */

const ROOT = resolve(__dirname, '..', '..');
const REGISTER = join(ROOT, 'test', 'support', 'swc-register.js');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'outage.json');

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(value) ? value : fallback;
};
const CONFIG = {
  callers: num('OUTAGE_CALLERS', 50),
  keys: num('OUTAGE_KEYS', 1_000),
  loaderMs: num('OUTAGE_LOADER_MS', 5),
  ttlMs: 10 * 60_000,
  /** Load before the fault: warms the cache and gives the "before" window. */
  warmUpMs: num('OUTAGE_WARM_S', 3) * 1_000,
  /** How long Redis is down or frozen. */
  faultMs: num('OUTAGE_FAULT_S', 10) * 1_000,
  /** Load after Redis answers again: the recovery window. */
  afterMs: num('OUTAGE_AFTER_S', 5) * 1_000,
  /** The harness gives up on a single call after this long and records it as hung. */
  deadlineMs: num('OUTAGE_DEADLINE_S', 30) * 1_000,
  /** At the end, calls under way get this long to answer before the ones still pending are counted as hung. */
  graceMs: num('OUTAGE_GRACE_S', 2) * 1_000,
  windowMs: 200,
  hitRateTarget: 0.9,
};
/** Ours' defaults (CacheModuleOptions.timeouts): the target is a read timeout plus one load. */
const OURS_READ_TIMEOUT_MS = 100;
const TARGETS = { failed: 0, p99Ms: OURS_READ_TIMEOUT_MS + CONFIG.loaderMs, recoverS: 2 };

type Scenario = 'killed' | 'frozen';
const SCENARIOS = (process.env.OUTAGE_SCENARIOS ?? 'killed,frozen').split(',').map((name) => name.trim()) as Scenario[];
const CONTENDER_IDS = (process.env.OUTAGE_CONTENDERS ?? OUTAGE_CONTENDERS.map((spec) => spec.id).join(','))
  .split(',')
  .map((name) => name.trim()) as OutageContenderId[];
const SCENARIO_LABELS: Record<Scenario, string> = {
  killed: `kill -9, restart after ${CONFIG.faultMs / 1000} s`,
  frozen: `SIGSTOP, SIGCONT after ${CONFIG.faultMs / 1000} s`,
};

interface Row {
  scenario: Scenario;
  id: OutageContenderId;
  library: string;
  /** Calls under way at some moment of the outage. */
  outageCalls: number;
  /** Calls that threw, from the fault to the end of the run (the outage and the recovery). */
  failed: number;
  /** Calls past the harness deadline or still pending at the end of the run, from the fault on. */
  hung: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Hit rate in the second before the fault. */
  hitRateBefore: number;
  /** Calls still waiting when Redis answered again, after waiting at least 1 s (through the outage). */
  pendingAtRecovery: number;
  /** Seconds from Redis answering again to the first cache hit (ours: reconnected and breaker closed). */
  firstHitS: number | null;
  recoverS: number | null;
  logLines?: string;
  firstError?: string;
  meetsTarget?: boolean;
  summary: RunSummary;
}

const log = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  assertPeersInstalled();
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const started = epochMs();
  log(
    `outage benchmark, run ${runId}: ${CONFIG.callers} callers, ${CONFIG.keys} keys, loader ${CONFIG.loaderMs} ms, ` +
      `warm-up ${CONFIG.warmUpMs / 1000} s, fault ${CONFIG.faultMs / 1000} s, after ${CONFIG.afterMs / 1000} s, call deadline ${CONFIG.deadlineMs / 1000} s`,
  );
  const rows: Row[] = [];
  for (const scenario of SCENARIOS) {
    log(`\n${scenario}: ${SCENARIO_LABELS[scenario]}`);
    for (const id of CONTENDER_IDS) {
      const row = await measure(scenario, id, `bench:outage:${runId}:${id}`);
      rows.push(row);
      logRow(row);
    }
  }
  report(rows, { runId, wallS: (epochMs() - started) / 1000 });
}

/** One library through one fault, on a fresh redis-server and in a fresh worker. */
async function measure(scenario: Scenario, id: OutageContenderId, prefix: string): Promise<Row> {
  const redis = await RedisProcess.start();
  const worker = await Worker.start();
  try {
    await worker.request({ type: 'open', id, redisUrl: redis.url, prefix, loaderMs: CONFIG.loaderMs, ttlMs: CONFIG.ttlMs }, 'ready');
    await worker.request({ type: 'start', callers: CONFIG.callers, keys: CONFIG.keys, deadlineMs: CONFIG.deadlineMs }, 'started');
    await sleep(CONFIG.warmUpMs);

    const faultAt = epochMs();
    if (scenario === 'killed') await redis.kill();
    else redis.freeze();
    await sleep(CONFIG.faultMs - (epochMs() - faultAt));
    const outageEndAt = epochMs();
    if (scenario === 'killed') await redis.restart();
    else redis.thaw();
    const answeringAt = epochMs();
    await sleep(CONFIG.afterMs);

    const marks: Marks = { faultAt, outageEndAt, answeringAt };
    const reply = await worker.request({ type: 'stop', marks, windowMs: CONFIG.windowMs, hitRateTarget: CONFIG.hitRateTarget, graceMs: CONFIG.graceMs }, 'result', CONFIG.graceMs + 30_000);
    return row(scenario, id, (reply as Extract<ChildMessage, { type: 'result' }>).summary);
  } finally {
    worker.kill();
    await redis.stop();
  }
}

function row(scenario: Scenario, id: OutageContenderId, summary: RunSummary): Row {
  const spec = outageContender(id);
  const { failed, hung } = summary;
  const meets = failed === 0 && hung === 0 && summary.outage.p99Ms <= TARGETS.p99Ms && summary.recoverS !== null && summary.recoverS <= TARGETS.recoverS;
  return {
    scenario,
    id,
    library: spec.label,
    outageCalls: summary.outage.calls,
    failed,
    hung,
    p50Ms: summary.outage.p50Ms,
    p99Ms: summary.outage.p99Ms,
    maxMs: summary.outage.maxMs,
    hitRateBefore: summary.before.hitRate,
    pendingAtRecovery: summary.pendingWhenAnswering,
    firstHitS: summary.firstHitS,
    recoverS: summary.recoverS,
    logLines: summary.logLines && `${summary.logLines.unavailable} down / ${summary.logLines.answering} up`,
    firstError: summary.firstError,
    meetsTarget: spec.side === 'ours' ? meets : undefined,
    summary,
  };
}

function logRow(row: Row): void {
  log(
    `  ${row.library.padEnd(36)} outage calls ${row.outageCalls}, failed ${row.failed}, hung ${row.hung}, ` +
      `p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, max ${row.maxMs} ms, recovered after ${row.recoverS ?? `> ${CONFIG.afterMs / 1000}`} s` +
      (row.firstError ? `; first error: ${row.firstError}` : ''),
  );
}

const COLUMNS = ['scenario', 'library', 'outageCalls', 'failed', 'hung', 'p50Ms', 'p99Ms', 'maxMs', 'pendingAtRecovery', 'hitRateBefore', 'firstHitS', 'recoverS', 'meetsTarget'];
const TABLE_TITLE = `Redis outage under ${CONFIG.callers} concurrent callers, loader ${CONFIG.loaderMs} ms, ${CONFIG.faultMs / 1000} s fault`;

function report(rows: Row[], meta: { runId: string; wallS: number }): void {
  const picked = rows.map((r) => Object.fromEntries(COLUMNS.map((column) => [column, column === 'recoverS' && r.recoverS === null ? `> ${CONFIG.afterMs / 1000}` : r[column as keyof Row]])));
  log(`\n${TABLE_TITLE}`);
  log(textTable(picked, COLUMNS));
  const notes = targetNotes(rows);
  log('');
  for (const note of notes) log(`- ${note}`);

  const compact = (r: Row | undefined) =>
    r && { failed: r.failed, hung: r.hung, p50Ms: r.p50Ms, p99Ms: r.p99Ms, maxMs: r.maxMs, outageCalls: r.outageCalls, pendingAtRecovery: r.pendingAtRecovery, firstHitS: r.firstHitS, recoverS: r.recoverS, ...(r.firstError ? { firstError: r.firstError } : {}) };
  const side = (id: OutageContenderId) => {
    const killed = rows.find((r) => r.id === id && r.scenario === 'killed');
    const frozen = rows.find((r) => r.id === id && r.scenario === 'frozen');
    const recoveries = [killed, frozen].filter((r): r is Row => r !== undefined).map((r) => r.recoverS);
    return {
      killed: compact(killed),
      frozen: compact(frozen),
      recoverS: recoveries.length === 0 || recoveries.includes(null) ? null : Math.max(...(recoveries as number[])),
    };
  };
  const summary = {
    bench: 'outage',
    title: 'Redis outage: failed calls, latency during the outage, recovery',
    description:
      `${CONFIG.callers} callers call a cached service method back to back over ${CONFIG.keys} keys (loader ${CONFIG.loaderMs} ms). ` +
      `The redis-server is killed (SIGKILL, restarted empty on the same port after ${CONFIG.faultMs / 1000} s) or frozen (SIGSTOP, SIGCONT after ` +
      `${CONFIG.faultMs / 1000} s). Each library runs alone in a worker process on a fresh redis-server. failed: calls that threw; hung: ` +
      `calls past the ${CONFIG.deadlineMs / 1000} s harness deadline or still pending when the run ended (${CONFIG.afterMs / 1000} s after Redis answered again, plus ${CONFIG.graceMs / 1000} s for calls under way). ` +
      `Latencies are of the calls under way at any moment of the outage, including those that began before it and waited through it (a hung call counts with the time it had waited); pendingAtRecovery: calls still waiting when Redis answered again that had waited at least 1 s by then. firstHitS: from Redis answering again to the first hit; recoverS: from Redis ` +
      `answering again to the end of the first rolling ${CONFIG.windowMs} ms window with a hit rate above ${CONFIG.hitRateTarget * 100} %. ` +
      `Targets for ours: 0 failed calls, p99 <= ${TARGETS.p99Ms} ms (read timeout + loader), recovery <= ${TARGETS.recoverS} s.`,
    ours: side('ours'),
    peers: Object.fromEntries(OUTAGE_CONTENDERS.filter((spec) => spec.side === 'peer' && CONTENDER_IDS.includes(spec.id)).map((spec) => [spec.id, side(spec.id)])),
    tables: { [TABLE_TITLE]: picked },
    notes,
  };
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    loadAverageAtEnd: loadavg().map(round1).join(' '),
    redis: redisServerVersion(),
    versions: Object.fromEntries(OUTAGE_CONTENDERS.map((spec) => [spec.id, spec.version()])),
    libraryRevision: libraryRevision(),
    runId: meta.runId,
    wallS: round1(meta.wallS),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...summary, environment, config: CONFIG, targets: TARGETS, rows }, null, 2)}\n`);
  log(`results written to ${RESULTS_FILE.slice(ROOT.length + 1)}; whole run ${round1(meta.wallS)} s`);
  log(JSON.stringify({ bench: summary.bench, ours: summary.ours, peers: summary.peers, title: summary.title, description: summary.description, tables: summary.tables, notes, environment }));
}

function targetNotes(rows: Row[]): string[] {
  const notes: string[] = [];
  for (const r of rows.filter((candidate) => candidate.id === 'ours')) {
    const misses: string[] = [];
    if (r.failed > 0 || r.hung > 0) misses.push(`${r.failed} failed and ${r.hung} hung calls (target 0)`);
    if (r.p99Ms > TARGETS.p99Ms) misses.push(`p99 ${r.p99Ms} ms > ${TARGETS.p99Ms} ms`);
    if (r.recoverS === null || r.recoverS > TARGETS.recoverS) misses.push(`recovery ${r.recoverS ?? `> ${CONFIG.afterMs / 1000}`} s > ${TARGETS.recoverS} s`);
    notes.push(
      `ours, ${r.scenario}: ${misses.length === 0 ? 'meets every target' : `misses: ${misses.join('; ')}`}` +
        (r.logLines ? ` (store log lines: ${r.logLines})` : ''),
    );
  }
  for (const r of rows.filter((candidate) => candidate.id !== 'ours')) {
    const behaviour =
      r.hung > 0
        ? `${r.hung} calls hung`
        : r.pendingAtRecovery > 0
          ? `${r.pendingAtRecovery} calls were still waiting when Redis answered again (they waited through the outage)`
          : 'no call waited through the outage';
    notes.push(`${r.library}, ${r.scenario}: ${behaviour}; ${r.failed} calls threw${r.firstError ? ` (first: ${r.firstError})` : ''}`);
  }
  return notes;
}

function redisServerVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function libraryRevision(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'libs/cache/src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${sha} + uncommitted changes in libs/cache/src` : sha;
  } catch {
    return 'unknown';
  }
}

/** A worker process (child.ts) and request/reply over IPC. */
class Worker {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<Worker> {
    const child = fork(join(__dirname, 'child.ts'), [], { execArgv: ['-r', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Worker(child);
  }

  /** Sends `message` and resolves with the first reply of type `expect`; rejects on an error reply, exit or timeout. */
  request(message: ParentMessage, expect: ChildMessage['type'], timeoutMs = 60_000): Promise<ChildMessage> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => finish(new Error(`worker did not answer ${message.type} within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (reply: ChildMessage) => {
        if (reply.type === 'error') finish(new Error(`worker failed: ${reply.message}`));
        else if (reply.type === expect) finish(undefined, reply);
      };
      const onExit = (code: number | null, signal: string | null) => finish(new Error(`worker exited (${code ?? signal}) during ${message.type}`));
      const finish = (error?: Error, reply?: ChildMessage) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolvePromise(reply!);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
      this.child.send(message);
    });
  }

  /** SIGKILL: a worker whose library hangs cannot hold the benchmark up by refusing to close. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
