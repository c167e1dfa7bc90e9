import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import type { CallsConfig, CallsResult, MemoryConfig, MemoryResult } from './client-child';
import { HIT_CONTENDERS, type HitContenderId, type HitContenderSpec } from './contenders';
import type { HttpChildConfig, HttpVariant } from './http-child';
import { PAYLOAD_BYTES } from './payload';
import { assertPeersInstalled } from '../support/peers';
import { deleteMatching, findBenchRedis, redisVersion } from '../support/redis';
import { median, pairedRatios, round1, textTable } from '../support/stats';

/**
 * `npm run bench:hit`: the cost of a cache hit, ~1 KB JSON value, against one Redis:
 *   (1) calls: raw ioredis GET + JSON.parse (the floor), ours through a @Cacheable service method (Redis only, and
 *       with L1), @nestjs/cache-manager, bentocache (L2 only; L1 + L2 + bus) and cacheable; sequential (µs/op) and
 *       100 concurrent callers (ops/s), each library in a fresh process of its own, in interleaved rounds; ratios
 *       are medians of per-round ratios, since the host's speed drifts between rounds;
 *   (2) HTTP on Fastify, 50 connections (autocannon): a static handler (the ceiling), the same body from an async
 *       handler with an @Param (the cached routes' shape without a cache), ours (Redis hit, L1 hit), a raw
 *       ioredis read in the handler (the floor of reading Redis per request), Nest's CacheInterceptor with the Keyv
 *       Redis store, and an interceptor that answers a constant (what Nest's interceptor pipeline costs by itself);
 *       req/s and ratios to the ceiling and to the raw read;
 *   (3) memory: bytes of L1 per 100k entries of the value.
 *   (4) metrics overhead: ours (Redis hit, L1 hit) again with CacheMetricsModule (Prometheus on a fresh prom-client
 *       Registry), in the same interleaved rounds of (1), reported as a ratio to the same variant without metrics.
 * Prints tables, writes bench/results/hit.json, and prints one JSON summary as the last line.
 * HIT_QUICK=1 shortens every phase (for a look while developing); HIT_METRICS=0 leaves out the metrics variants.
 */

const ROOT = resolve(__dirname, '..', '..');
const REGISTER = join(ROOT, 'test', 'support', 'swc-register.js');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'hit.json');
const QUICK = process.env.HIT_QUICK === '1';
const METRICS = process.env.HIT_METRICS !== '0';
/** The call contenders of this run: every one, less the metrics variants when HIT_METRICS=0. */
const CONTENDERS = HIT_CONTENDERS.filter((spec) => METRICS || spec.baseline === undefined);

const CALLS = { keys: 100, warmUpOps: QUICK ? 2_000 : 10_000, sequentialOps: QUICK ? 5_000 : 30_000, sequentialBlocks: QUICK ? 4 : 30, concurrency: 100, concurrentMs: QUICK ? 1_000 : 4_000, rounds: QUICK ? 1 : 5 };
const HTTP = { connections: 50, warmUpS: QUICK ? 1 : 2, durationS: QUICK ? 2 : 3, keys: 100, rounds: QUICK ? 1 : 7 };
const MEMORY = { entries: 100_000 };
const TARGETS = { l2SeqRatio: 1.05, l2ConcRatio: 1.4, l1Us: 6, httpRatio: 0.95 };

const log = (line = '') => process.stdout.write(`${line}\n`);

interface CallsRow {
  id: HitContenderId;
  library: string;
  seqUsPerOp: number;
  /** Median over rounds of µs per call / the same process's raw ioredis reference (see client-child.ts). */
  seqRatio: number;
  /** Median over rounds of µs per call / the raw ioredis process of the same round (the noisier comparison). */
  seqRatioToRawProcess: number;
  concOpsPerSec: number;
  concRatio: number;
  concUsPerOp: number;
}
/** Ours with metrics against ours without: median µs per call and the median per-round ratio (1.00 = no overhead). */
interface MetricsOverheadRow {
  variant: string;
  seqUsBase: number;
  seqUsMetrics: number;
  seqRatio: number;
  concUsBase: number;
  concUsMetrics: number;
  concRatio: number;
}
interface HttpRow {
  variant: HttpVariant;
  server: string;
  reqPerSec: number;
  ratio: number;
  /** Median over rounds of req/s / the raw ioredis handler's in the same round: cost beyond the Redis read itself. */
  ratioToRawRedis: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The server process's CPU time (user + system) per request: its own cost, apart from the load generator's. */
  serverCpuUsPerReq: number;
  /** Its user-space share: the JavaScript's cost, without the kernel's socket work (which grows when the load drops). */
  serverUserUsPerReq: number;
}
/** One server's measurement in one round, before the ratios across servers. */
type HttpMeasurement = Omit<HttpRow, 'ratio' | 'ratioToRawRedis'>;

async function main(): Promise<void> {
  assertPeersInstalled();
  const redis = await findBenchRedis();
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const prefix = `bench:hit:${runId}`;
  const started = Date.now();
  log(`hit benchmark, run ${runId}, Redis ${redis.url} (${redis.source}), value ${PAYLOAD_BYTES} bytes of JSON`);
  let callsRows: CallsRow[] = [];
  let callsRounds = new Map<HitContenderId, CallsResult[]>();
  let httpRows: HttpRow[] = [];
  let memory: MemoryResult | undefined;
  try {
    ({ rows: callsRows, rounds: callsRounds } = await callsPhase(redis.url, `${prefix}:calls`));
    httpRows = await httpPhase(redis.url, `${prefix}:http`);
    memory = await child<MemoryResult>('client-child.ts', { HIT_CHILD: JSON.stringify({ mode: 'memory', redisUrl: redis.url, prefix: `${prefix}:memory`, entries: MEMORY.entries } satisfies MemoryConfig) }, ['--expose-gc']);
    log(`\nmemory: L1 holding ${memory.entries.toLocaleString('en-US')} entries of ${PAYLOAD_BYTES} bytes: ${(memory.bytes / 2 ** 20).toFixed(1)} MiB (${Math.round(memory.bytesPerEntry)} bytes per entry; heap ${(memory.heapBytes / 2 ** 20).toFixed(1)} MiB, buffers ${(memory.externalBytes / 2 ** 20).toFixed(1)} MiB)`);
  } finally {
    const deleted = await deleteMatching(redis.url, `*${runId}*`).catch(() => -1);
    log(`cleaned up ${deleted} keys of run ${runId}`);
    const version = await redisVersion(redis.url).catch(() => 'unknown');
    await redis.stop();
    if (callsRows.length > 0) report(callsRows, callsRounds, httpRows, memory, { runId, redis: `${version} (${redis.source})`, wallS: (Date.now() - started) / 1000 });
  }
}

/**
 * Every contender, `rounds` times in an interleaved order, each run in a fresh process. The machine's speed drifts
 * (a shared host), so each round's contenders are compared with the raw ioredis run of the same round, and the
 * report gives the median of those per-round ratios (and the median µs and ops/s across rounds).
 */
async function callsPhase(redisUrl: string, prefix: string): Promise<{ rows: CallsRow[]; rounds: Map<HitContenderId, CallsResult[]> }> {
  log(`\n(1) calls: sequential ${CALLS.sequentialOps.toLocaleString('en-US')} ops and ${CALLS.concurrency} concurrent callers for ${CALLS.concurrentMs / 1000} s, ${CALLS.rounds} round(s), medians of per-round ratios`);
  const rounds = new Map<HitContenderId, CallsResult[]>(CONTENDERS.map((spec) => [spec.id, []]));
  for (let round = 0; round < CALLS.rounds; round++) {
    for (const spec of roundOrder(round)) {
      const config: CallsConfig = { mode: 'calls', id: spec.id, redisUrl, prefix: `${prefix}:${spec.id}`, ...CALLS };
      const result = await child<CallsResult>('client-child.ts', { HIT_CHILD: JSON.stringify(config) });
      log(`  round ${round + 1} ${spec.label.padEnd(42)} seq ${result.sequentialUsPerOp.toFixed(1).padStart(6)} µs/op, conc ${Math.round(result.concurrentOpsPerSec).toLocaleString('en-US').padStart(8)} ops/s`);
      rounds.get(spec.id)!.push(result);
    }
  }
  const floor = rounds.get('raw')!;
  const rows = CONTENDERS.map((spec) => {
    const results = rounds.get(spec.id)!;
    return {
      id: spec.id,
      library: spec.label,
      seqUsPerOp: round1(median(results.map((result) => result.sequentialUsPerOp))),
      seqRatio: round2(median(results.map(toReference))),
      seqRatioToRawProcess: round2(pairedRatio(results, floor, (result) => result.sequentialUsPerOp)),
      concOpsPerSec: Math.round(median(results.map((result) => result.concurrentOpsPerSec))),
      concRatio: round2(pairedRatio(results, floor, (result) => result.concurrentOpsPerSec)),
      concUsPerOp: round1(median(results.map((result) => result.concurrentUsPerOp))),
    };
  });
  return { rows, rounds };
}

/** A sequential result relative to the raw ioredis reference measured in the same process, in the blocks between. */
function toReference(result: CallsResult): number {
  return result.sequentialRatioToReference;
}

/** The median over rounds of `measure(contender) / measure(reference)`, each pair taken from the same round. */
function pairedRatio<T>(results: readonly T[], reference: readonly T[], measure: (result: T) => number): number {
  return median(pairedRatios(results, reference, measure));
}

/**
 * The contenders in the order of one round: each metrics variant runs next to its baseline (so that both see the
 * same machine load), after it in even rounds and before it in odd ones (so that neither always runs second).
 */
function roundOrder(round: number): HitContenderSpec[] {
  const order = [...CONTENDERS];
  if (round % 2 === 1) {
    for (let i = 1; i < order.length; i++) {
      if (order[i].baseline === order[i - 1].id) [order[i - 1], order[i]] = [order[i], order[i - 1]];
    }
  }
  return order;
}

/** The overhead of each metrics variant over its baseline: medians, and medians of the per-round ratios. */
function metricsOverhead(callsRows: CallsRow[], rounds: Map<HitContenderId, CallsResult[]>): MetricsOverheadRow[] {
  return CONTENDERS.filter((spec) => spec.baseline !== undefined).map((spec) => {
    const withMetrics = callsRows.find((row) => row.id === spec.id)!;
    const base = callsRows.find((row) => row.id === spec.baseline)!;
    const [measured, baseline] = [rounds.get(spec.id)!, rounds.get(spec.baseline!)!];
    return {
      variant: base.library,
      seqUsBase: base.seqUsPerOp,
      seqUsMetrics: withMetrics.seqUsPerOp,
      seqRatio: round2(pairedRatio(measured, baseline, toReference)),
      concUsBase: base.concUsPerOp,
      concUsMetrics: withMetrics.concUsPerOp,
      concRatio: round2(pairedRatio(measured, baseline, (result) => result.concurrentUsPerOp)),
    };
  });
}

const HTTP_VARIANTS: Array<{ variant: HttpVariant; label: string }> = [
  { variant: 'static', label: 'static handler (ceiling)' },
  { variant: 'static-param', label: 'static body, async handler with @Param' },
  { variant: 'ours-l2', label: 'ours @Cacheable handler (Redis hit)' },
  { variant: 'ours-l2-immutable', label: 'ours @Cacheable handler (Redis hit, immutable)' },
  { variant: 'ours-l1', label: 'ours @Cacheable handler (L1 hit)' },
  { variant: 'raw-ioredis', label: 'raw ioredis GET + JSON.parse in the handler' },
  { variant: 'nest-interceptor', label: 'Nest CacheInterceptor (Keyv Redis)' },
  { variant: 'interceptor-floor', label: 'interceptor answering a constant (floor)' },
];

/**
 * Every variant's server in a fresh process of its own, all started (and warmed up) before the first measurement, then
 * measured `rounds` times in an interleaved order. Servers that are alive together can be measured back to back, so
 * each round's pairs are seconds apart rather than a minute: as with calls, each round's req/s is compared with the
 * static ceiling of the same round, and the median of those ratios is reported.
 */
async function httpPhase(redisUrl: string, prefix: string): Promise<HttpRow[]> {
  log(`\n(2) HTTP on Fastify, ${HTTP.connections} connections, ${HTTP.durationS} s per measurement after ${HTTP.warmUpS} s of warm-up, ${HTTP.rounds} round(s), medians of per-round ratios`);
  const servers = new Map<HttpVariant, Awaited<ReturnType<typeof httpServer>>>();
  try {
    for (const { variant } of HTTP_VARIANTS) {
      servers.set(variant, await httpServer({ variant, redisUrl, prefix: `${prefix}:${variant}`, keys: HTTP.keys }));
      await cannon(servers.get(variant)!.port, HTTP.warmUpS);
    }
    const rounds = new Map<HttpVariant, Array<HttpMeasurement>>(HTTP_VARIANTS.map(({ variant }) => [variant, []]));
    for (let round = 0; round < HTTP.rounds; round++) {
      // The ceiling first in even rounds and last in odd ones, so that it does not always run first.
      const order = round % 2 === 0 ? HTTP_VARIANTS : [...HTTP_VARIANTS.slice(1), HTTP_VARIANTS[0]];
      for (const { variant, label } of order) {
        const row = await measureHttp(servers.get(variant)!, variant, label);
        log(`  round ${round + 1} ${label.padEnd(40)} ${row.reqPerSec.toLocaleString('en-US').padStart(7)} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, errors ${row.errors}, server CPU ${row.serverCpuUsPerReq} µs/request (user ${row.serverUserUsPerReq})`);
        rounds.get(variant)!.push(row);
      }
    }
    const ceiling = rounds.get('static')!;
    const rawRedis = rounds.get('raw-ioredis')!;
    return HTTP_VARIANTS.map(({ variant, label }) => {
      const measured = rounds.get(variant)!;
      const middle = (pick: (row: HttpMeasurement) => number) => median(measured.map(pick));
      return {
        variant,
        server: label,
        reqPerSec: Math.round(middle((row) => row.reqPerSec)),
        ratio: round2(pairedRatio(measured, ceiling, (row) => row.reqPerSec)),
        ratioToRawRedis: round2(pairedRatio(measured, rawRedis, (row) => row.reqPerSec)),
        p50Ms: middle((row) => row.p50Ms),
        p99Ms: middle((row) => row.p99Ms),
        errors: measured.reduce((sum, row) => sum + row.errors, 0),
        serverCpuUsPerReq: round1(middle((row) => row.serverCpuUsPerReq)),
        serverUserUsPerReq: round1(middle((row) => row.serverUserUsPerReq)),
      };
    });
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
}

/** One measurement of a warmed-up server: req/s and latency from autocannon, CPU from the server. */
async function measureHttp(server: Awaited<ReturnType<typeof httpServer>>, variant: HttpVariant, label: string): Promise<HttpMeasurement> {
  const cpuBefore = await server.cpu();
  const result = await cannon(server.port, HTTP.durationS);
  const cpuAfter = await server.cpu();
  const requests = Math.max(1, result.requests.total);
  const userUs = cpuAfter.user - cpuBefore.user;
  return {
    variant,
    server: label,
    reqPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
    serverCpuUsPerReq: round1((userUs + cpuAfter.system - cpuBefore.system) / requests),
    serverUserUsPerReq: round1(userUs / requests),
  };
}

/** autocannon against GET /item/{0..keys-1}, round robin. */
function cannon(port: number, durationS: number): Promise<autocannon.Result> {
  const requests = Array.from({ length: HTTP.keys }, (_, id) => ({ method: 'GET' as const, path: `/item/${id}` }));
  return autocannon({ url: `http://127.0.0.1:${port}`, connections: HTTP.connections, duration: durationS, requests });
}

async function httpServer(config: HttpChildConfig): Promise<{ port: number; cpu(): Promise<NodeJS.CpuUsage>; stop(): Promise<void> }> {
  const process = fork(join(__dirname, 'http-child.ts'), [], {
    execArgv: ['-r', REGISTER],
    env: { ...globalThis.process.env, HIT_HTTP: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    process.once('message', (message: { port: number }) => resolvePort(message.port));
    process.once('exit', (code) => reject(new Error(`http child ${config.variant} exited with ${code}`)));
  });
  return {
    port,
    cpu: () =>
      new Promise<NodeJS.CpuUsage>((resolveCpu) => {
        const onMessage = (message: { cpu?: NodeJS.CpuUsage }) => {
          if (!message.cpu) return;
          process.off('message', onMessage);
          resolveCpu(message.cpu);
        };
        process.on('message', onMessage);
        process.send({ type: 'cpu' });
      }),
    stop: async () => {
      const exited = new Promise((done) => process.once('exit', done));
      process.send({ type: 'exit' });
      const timer = setTimeout(() => process.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a child script to completion and resolves with the result it sends. */
function child<T>(script: string, env: Record<string, string>, execArgv: string[] = []): Promise<T> {
  const forked = fork(join(__dirname, script), [], {
    execArgv: [...execArgv, '-r', REGISTER],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<T>((resolveResult, reject) => {
    let answer: { ok: boolean; result?: T; error?: string } | undefined;
    forked.on('message', (message: typeof answer) => (answer = message));
    forked.once('exit', (code) => {
      if (answer?.ok) resolveResult(answer.result as T);
      else reject(new Error(`${script} failed (exit ${code}): ${answer?.error ?? 'no answer'}`));
    });
  });
}

function report(callsRows: CallsRow[], callsRounds: Map<HitContenderId, CallsResult[]>, httpRows: HttpRow[], memory: MemoryResult | undefined, meta: { runId: string; redis: string; wallS: number }): void {
  const findRow = (id: HitContenderId) => callsRows.find((candidate) => candidate.id === id);
  const row = (id: HitContenderId) => findRow(id)!;
  const http = (variant: HttpVariant) => httpRows.find((candidate) => candidate.variant === variant);
  const l2 = row('ours-l2');
  const l1 = row('ours-l1');
  const immutable = findRow('ours-l2-immutable');
  const httpOurs = http('ours-l2');
  const overheadRows = metricsOverhead(callsRows, callsRounds);
  const overheadOf = (baseline: HitContenderId) => {
    const found = overheadRows.find((candidate) => candidate.variant === row(baseline).library);
    return found && { seqUs: found.seqUsMetrics, seqUsWithout: found.seqUsBase, seqRatio: found.seqRatio, concUs: found.concUsMetrics, concUsWithout: found.concUsBase, concRatio: found.concRatio };
  };
  const ours = {
    l2SeqRatio: l2.seqRatio,
    l2ConcRatio: l2.concRatio,
    l1Us: l1.seqUsPerOp,
    httpRatio: httpOurs?.ratio,
    l2SeqRatioToRawProcess: l2.seqRatioToRawProcess,
    l2ImmutableSeqRatio: immutable?.seqRatio,
    l2ImmutableConcRatio: immutable?.concRatio,
    httpImmutableRatio: http('ours-l2-immutable')?.ratio,
    httpRatioToRawRedis: httpOurs?.ratioToRawRedis,
    httpStaticParamRatio: http('static-param')?.ratio,
    l2SeqUs: l2.seqUsPerOp,
    l2ConcOpsPerSec: l2.concOpsPerSec,
    l1ConcOpsPerSec: l1.concOpsPerSec,
    httpL1Ratio: http('ours-l1')?.ratio,
    l1BytesPer100k: memory && Math.round(memory.bytesPerEntry * 100_000),
    metricsOverhead: METRICS ? { l2: overheadOf('ours-l2'), l1: overheadOf('ours-l1') } : undefined,
  };
  const met = {
    l2SeqRatio: ours.l2SeqRatio <= TARGETS.l2SeqRatio,
    l2ConcRatio: ours.l2ConcRatio >= TARGETS.l2ConcRatio,
    l1Us: ours.l1Us <= TARGETS.l1Us,
    httpRatio: ours.httpRatio !== undefined && ours.httpRatio >= TARGETS.httpRatio,
  };
  const peers = Object.fromEntries(
    callsRows.filter((candidate) => !candidate.id.startsWith('ours')).map((candidate) => [candidate.id, { seqUs: candidate.seqUsPerOp, seqRatio: candidate.seqRatio, concOpsPerSec: candidate.concOpsPerSec, concRatio: candidate.concRatio }]),
  );
  const interceptor = http('nest-interceptor');
  if (interceptor) Object.assign(peers, { 'nest-interceptor-http': { reqPerSec: interceptor.reqPerSec, ratio: interceptor.ratio } });
  const floor = http('interceptor-floor');
  if (floor) Object.assign(peers, { 'interceptor-floor-http': { reqPerSec: floor.reqPerSec, ratio: floor.ratio } });

  const callsColumns = ['library', 'seqUsPerOp', 'seqRatio', 'seqRatioToRawProcess', 'concOpsPerSec', 'concRatio', 'concUsPerOp'];
  const httpColumns = ['server', 'reqPerSec', 'ratio', 'ratioToRawRedis', 'serverCpuUsPerReq', 'serverUserUsPerReq', 'p50Ms', 'p99Ms', 'errors'];
  const callsTitle = `Hit path, ${PAYLOAD_BYTES}-byte JSON value: sequential and ${CALLS.concurrency} concurrent callers (ratio to raw ioredis)`;
  const httpTitle = `HTTP on Fastify, ${HTTP.connections} connections (ratio to the static ceiling and to a raw ioredis read in the handler)`;
  const overheadTitle = 'Metrics overhead on the hit path: ours with CacheMetricsModule (Prometheus) vs without, µs/call (ratio: with / without, 1.00 = none)';
  const memoryTitle = `L1 memory, filled with ${MEMORY.entries.toLocaleString('en-US')} entries of ${PAYLOAD_BYTES} bytes (per 100k: scaled from the entries held)`;
  const tables: Record<string, Record<string, unknown>[]> = {
    [callsTitle]: callsRows.map((candidate) => pick(candidate, callsColumns)),
  };
  if (overheadRows.length > 0) tables[overheadTitle] = overheadRows.map((candidate) => ({ ...candidate }));
  tables[httpTitle] = httpRows.map((candidate) => pick(candidate, httpColumns));
  if (memory) tables[memoryTitle] = [{ store: 'ours L1 (encoded bytes, LRU)', entriesHeld: memory.entries, per100kMiB: round1((memory.bytesPerEntry * 100_000) / 2 ** 20), totalMiB: round1(memory.bytes / 2 ** 20), bytesPerEntry: Math.round(memory.bytesPerEntry), heapMiB: round1(memory.heapBytes / 2 ** 20), buffersMiB: round1(memory.externalBytes / 2 ** 20) }];
  for (const [title, rows] of Object.entries(tables)) {
    log(`\n${title}`);
    log(textTable(rows, Object.keys(rows[0] ?? {})));
  }
  const notes = [
    `Targets: Redis hit <= ${TARGETS.l2SeqRatio} x raw ioredis sequential (${ours.l2SeqRatio}: ${met.l2SeqRatio ? 'met' : 'missed'}); >= ${TARGETS.l2ConcRatio} x raw ops/s with ${CALLS.concurrency} concurrent callers (${ours.l2ConcRatio}: ${met.l2ConcRatio ? 'met' : 'missed'}); L1 hit <= ${TARGETS.l1Us} µs (${ours.l1Us}: ${met.l1Us ? 'met' : 'missed'}); HTTP (Redis hit) >= ${TARGETS.httpRatio} x static (${ours.httpRatio}: ${met.httpRatio ? 'met' : 'missed'}).`,
    `Interceptor floor: an interceptor that answers a constant without calling the handler reaches ${floor?.ratio ?? '-'} x static; any cache that serves hits from an interceptor (Nest's CacheInterceptor) pays that pipeline, plus decoding the value and serialising it again. Ours wraps the decorated handler in place instead, so a hit pays Nest's guards-pipes-handler path only.`,
    `Raw ioredis in the handler (GET + JSON.parse, SET on a miss; one command per request, no batching) reaches ${http('raw-ioredis')?.ratio ?? '-'} x static: the floor of any cache that asks Redis on every request, since the command's write and read syscalls and Redis's own CPU share the two cores with the server and autocannon. Ours (Redis hit) reaches ${ours.httpRatioToRawRedis ?? '-'} x that floor (ratioToRawRedis). The static body from an async handler with an @Param, the shape of the cached routes without a cache, reaches ${ours.httpStaticParamRatio ?? '-'} x static. The HTTP target (>= ${TARGETS.httpRatio} x static) asks for the round trip to cost almost nothing. A paired A/B on this host (4 rounds): an L1 hit through a @Cacheable service method behind a plain handler and through the @Cacheable handler itself within 2-5 % of each other, so the L1 row is Nest's route cost plus the hit, not a cost of wrapping the handler.`,
    'serverCpuUsPerReq: CPU time (user + system) of the server process per request during the measured run, its own cost apart from autocannon, which shares the two cores and caps the ceiling. serverUserUsPerReq: its user-space part (the JavaScript); the system part is mostly the socket writes, whose cost per request grows as req/s drops.',
    `seqRatio: µs per call relative to raw ioredis (lower is better), measured in the contender's own process: its ${CALLS.sequentialOps.toLocaleString('en-US')} sequential calls run in ${CALLS.sequentialBlocks} blocks alternating with blocks of a raw ioredis client (GET + JSON.parse) opened beside it, and the ratio is the median over the blocks of contender / reference in the adjacent block, then the median over rounds (a burst of host load within one block does not move a median; the raw row's own ratio shows what the method reads for no difference). seqRatioToRawProcess: the same µs relative to the raw ioredis process of the same round, which ran up to a minute apart; on this host its per-round ratios spread by +-15 % for the same code, which hides a difference of a few µs. concRatio: ops/s relative to raw ioredis (higher is better); raw ioredis runs with its defaults (no auto-pipelining), ours with the module defaults (no auto-pipelining; reads that start together go out as MGETs of up to 8 keys, sent at once, so 100 concurrent callers cost 13 commands per round instead of 100).`,
    `Each library runs in a fresh process of its own, ${CALLS.rounds} round(s) interleaved (HTTP: every server alive from the start, ${HTTP.rounds} rounds of back-to-back measurements); ratios are medians of per-round ratios to the floor (HTTP: the ceiling) measured in the same round, and µs, ops/s and req/s are medians across rounds. This host's speed drifts by up to 2x over minutes, so ratios are steadier than absolute numbers. Keys: ${CALLS.keys} items read round robin; every measured call is a hit.`,
    `immutable: the policy option by which callers promise to only read the data; its hits share one deeply frozen value per stored version instead of a copy each (the targets are measured on the default policy, which copies).`,
    `Ours remembers a decoded copy of the 1,000 most recently read keys from their second read on, so these ${CALLS.keys} keys are copied rather than decoded on a hit (raw ioredis parses every time). With 5,000 keys read round robin, none read again while remembered, ours decodes every hit too: a paired A/B on this host then put the sequential Redis hit at about 1.4 x raw (1.1 x with 100 keys, before reads had their copies prepared while waiting for Redis and hot values got a compiled copier).`,
  ];
  if (overheadRows.length > 0) {
    notes.push(
      'Metrics overhead: the "+ metrics" rows import CacheMetricsModule.forRoot({ registry }) on a fresh prom-client Registry (OpenTelemetry at its default, a no-op without an SDK); each runs next to the same variant without metrics in every round (alternating which goes first), and the process checks that its hits reached the registry. Ratio > 1: slower with metrics; on a noisy machine differences of a few per cent are within the noise.',
    );
  }
  log('');
  for (const note of notes) log(`- ${note}`);
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    loadAverageAtEnd: loadavg().map(round1).join(' '),
    redis: meta.redis,
    versions: Object.fromEntries(CONTENDERS.map((spec) => [spec.id, spec.version()])),
    runId: meta.runId,
    wallS: round1(meta.wallS),
  };
  const summary = {
    bench: 'hit',
    title: 'Cache hit path: calls, HTTP and L1 memory',
    description:
      `The cost of a cache hit on a ${PAYLOAD_BYTES}-byte JSON value, against one Redis. Calls: each library in a fresh process, ` +
      `${CALLS.sequentialOps.toLocaleString('en-US')} sequential calls and ${CALLS.concurrency} concurrent callers for ${CALLS.concurrentMs / 1000} s. ` +
      `HTTP: Nest on Fastify, autocannon with ${HTTP.connections} connections, ${HTTP.rounds} rounds of ${HTTP.durationS} s per server. Memory: process.memoryUsage() around filling L1, after gc.`,
    ours,
    targets: TARGETS,
    met,
    peers,
    tables,
    notes,
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...summary, environment, config: { CALLS, HTTP, MEMORY, METRICS }, callsRows, httpRows, metricsOverheadRows: overheadRows, memory }, null, 2)}\n`);
  log(`\nwrote ${RESULTS_FILE}`);
  log(JSON.stringify({ ...summary, environment }));
}

function pick<T extends object>(row: T, columns: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(columns.map((column) => [column, (row as Record<string, unknown>)[column]]));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
