import { type OutageClient, type OutageContenderId, outageContender } from './contenders';
import { epochMs, percentile, round1 } from '../support/stats';

/**
 * A worker process of the outage benchmark: hosts one library only, so a library that hangs or burns CPU during
 * the outage cannot slow the other. Driven by the parent over IPC:
 *   open {id, redisUrl, prefix, loaderMs, ttlMs}              -> ready
 *   start {callers, keys, deadlineMs}                         -> started
 *   stop {marks, windowMs, hitRateTarget, graceMs}            -> result {summary}
 * Between start and stop, `callers` loops each call `item(random key)` back to back. Every call is raced against
 * `deadlineMs`: a call that passes it is recorded as hung and its caller moves on. At stop the loops end; calls under
 * way get a short grace to answer, and those still pending after it count as hung too. The parent then kills the process: a hung client cannot
 * hold the benchmark up.
 */

export type ParentMessage =
  | { type: 'open'; id: OutageContenderId; redisUrl: string; prefix: string; loaderMs: number; ttlMs: number }
  | { type: 'start'; callers: number; keys: number; deadlineMs: number }
  | { type: 'stop'; marks: Marks; windowMs: number; hitRateTarget: number; graceMs: number };

export type ChildMessage = { type: 'ready' } | { type: 'started' } | { type: 'result'; summary: RunSummary } | { type: 'error'; message: string };

/** Epoch-ms instants the parent recorded around the fault. */
export interface Marks {
  /** Just before SIGKILL / SIGSTOP. */
  readonly faultAt: number;
  /** Just before the restart / SIGCONT: the end of the outage window. */
  readonly outageEndAt: number;
  /** When Redis answered PING again (restart) or was continued (SIGCONT). Recovery is measured from here. */
  readonly answeringAt: number;
}

/** One window of calls, by the time they started. */
export interface WindowSummary {
  calls: number;
  /** Calls that threw. */
  failed: number;
  /** Calls that passed the harness deadline or were still pending at the end of the run. */
  hung: number;
  hits: number;
  hitRate: number;
  /** Latency of every call in the window; a hung call counts with the time it had waited when given up (a lower bound). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface RunSummary {
  /** Calls started in the second before the fault. */
  before: WindowSummary;
  /** Calls under way at any moment of the outage (started before its end, answered or given up after its start). */
  outage: WindowSummary;
  /** Calls started after Redis answered again. */
  after: WindowSummary;
  /** Calls that threw, of those answered (or given up) after the fault began. */
  failed: number;
  /** Calls hung (deadline, or pending at the end), of those under way after the fault began. */
  hung: number;
  /**
   * Calls still waiting when Redis answered again that had waited at least 1 s by then (they hung through the outage;
   * any caller has a call of a few ms under way at that instant, which does not count).
   */
  pendingWhenAnswering: number;
  /** Seconds from `answeringAt` to the end of the first rolling window with hit rate above the target; null: never. */
  recoverS: number | null;
  /** Seconds from `answeringAt` to the start of the first call after it that was a hit; null: none. */
  firstHitS: number | null;
  firstError?: string;
  logLines?: { unavailable: number; answering: number };
  totalCalls: number;
}

/** One finished (or given-up) call. */
interface Call {
  at: number;
  ms: number;
  hit: boolean;
  outcome: 'ok' | 'failed' | 'hung';
}

let client: OutageClient | undefined;
const calls: Call[] = [];
/** Calls under way: id -> start (epoch ms). */
const pending = new Map<number, number>();
let nextCall = 0;
let running = false;
let firstError: string | undefined;
const send = (message: ChildMessage) => void process.send!(message);

function start(callers: number, keys: number, deadlineMs: number): void {
  running = true;
  for (let caller = 0; caller < callers; caller++) {
    void (async () => {
      while (running) {
        await call(Math.floor(Math.random() * keys), deadlineMs);
        // Let timers and sockets run between calls even when a hit answers without touching the event loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
  }
}

async function call(id: number, deadlineMs: number): Promise<void> {
  const at = epochMs();
  const callId = nextCall++;
  pending.set(callId, at);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), deadlineMs);
  });
  try {
    const value = await Promise.race([client!.item(id), deadline]);
    if (value === 'hung') calls.push({ at, ms: epochMs() - at, hit: false, outcome: 'hung' });
    else calls.push({ at, ms: epochMs() - at, hit: value.loadedAt < at, outcome: 'ok' });
  } catch (error) {
    firstError ??= (error as Error)?.message ?? String(error);
    calls.push({ at, ms: epochMs() - at, hit: false, outcome: 'failed' });
  } finally {
    clearTimeout(timer);
    pending.delete(callId);
  }
}

/**
 * Ends the loops: no caller starts another call. Calls under way get `graceMs` to answer (every caller has one in
 * flight at any instant, and they are not hung for that); those still pending after it never answered: hung.
 */
async function stop(marks: Marks, windowMs: number, hitRateTarget: number, graceMs: number): Promise<RunSummary> {
  running = false;
  const stoppedAt = epochMs();
  while (pending.size > 0 && epochMs() - stoppedAt < graceMs) await new Promise((resolve) => setTimeout(resolve, 10));
  const givenUpAt = epochMs();
  const all = [...calls, ...[...pending.values()].map((at): Call => ({ at, ms: givenUpAt - at, hit: false, outcome: 'hung' }))];
  const window = (from: number, to: number) => summarise(all.filter((c) => c.at >= from && c.at < to));
  const sinceFault = all.filter((c) => c.at + c.ms >= marks.faultAt);
  return {
    before: window(marks.faultAt - 1_000, marks.faultAt),
    // Every call that was under way at some moment of the outage, including those that began before it and waited.
    outage: summarise(all.filter((c) => c.at < marks.outageEndAt && c.at + c.ms >= marks.faultAt)),
    after: window(marks.answeringAt, stoppedAt),
    pendingWhenAnswering: all.filter((c) => c.at <= marks.answeringAt - 1_000 && c.at + c.ms > marks.answeringAt).length,
    recoverS: recovery(all, marks.answeringAt, stoppedAt, windowMs, hitRateTarget),
    firstHitS: firstHit(all, marks.answeringAt),
    failed: sinceFault.filter((c) => c.outcome === 'failed').length,
    hung: sinceFault.filter((c) => c.outcome === 'hung').length,
    firstError,
    logLines: client?.logLines?.(),
    totalCalls: all.length,
  };
}

function summarise(chosen: Call[]): WindowSummary {
  const sorted = chosen.map((c) => c.ms).sort((a, b) => a - b);
  const hits = chosen.filter((c) => c.hit).length;
  return {
    calls: chosen.length,
    failed: chosen.filter((c) => c.outcome === 'failed').length,
    hung: chosen.filter((c) => c.outcome === 'hung').length,
    hits,
    hitRate: chosen.length === 0 ? 0 : Math.round((hits / chosen.length) * 1000) / 1000,
    p50Ms: round1(percentile(sorted, 50)),
    p99Ms: round1(percentile(sorted, 99)),
    maxMs: round1(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/**
 * Rolling windows of `windowMs` (by call start), every 20 ms from `from`: the end of the first one in which more than
 * `target` of the calls were hits, in seconds after `from`. A window needs 10 calls to count, so a lone hit is not
 * a recovery.
 */
function recovery(all: Call[], from: number, to: number, windowMs: number, target: number): number | null {
  const sorted = all.filter((c) => c.at >= from).sort((a, b) => a.at - b.at);
  for (let start = from; start + windowMs <= to; start += 20) {
    const inside = sorted.filter((c) => c.at >= start && c.at < start + windowMs);
    if (inside.length >= 10 && inside.filter((c) => c.hit).length / inside.length > target) {
      return Math.round((start + windowMs - from) / 10) / 100;
    }
  }
  return null;
}

function firstHit(all: Call[], from: number): number | null {
  const at = all.reduce((first, c) => (c.at >= from && c.hit && c.at < first ? c.at : first), Infinity);
  return Number.isFinite(at) ? Math.round((at - from) / 10) / 100 : null;
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'open':
      client = await outageContender(message.id).open(message);
      return send({ type: 'ready' });
    case 'start':
      start(message.callers, message.keys, message.deadlineMs);
      return send({ type: 'started' });
    case 'stop':
      return send({ type: 'result', summary: await stop(message.marks, message.windowMs, message.hitRateTarget, message.graceMs) });
  }
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((error: Error) => send({ type: 'error', message: error.stack ?? error.message }));
});
// A library that reports its connection errors as unhandled rejections must not end the run; count them instead.
process.on('unhandledRejection', (error) => {
  firstError ??= `unhandled rejection: ${(error as Error)?.message ?? String(error)}`;
});
