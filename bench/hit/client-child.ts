/**
 * One hit-path measurement in a fresh process that hosts one library only (started by hit.bench.ts, config in the
 * HIT_CHILD environment variable). Modes:
 * - `calls`: seeds `keys` items, warms up, then measures `concurrency` callers looping for `concurrentMs` (ops/s) and
 *   `sequentialOps` calls awaited one after the other (µs/op). The sequential calls run in blocks that alternate
 *   with blocks of a raw ioredis client opened in this same process (the reference): a difference of a few µs per
 *   call is smaller than this host's drift between two processes, but not than the drift between two adjacent
 *   blocks. The ratio to the reference is the median of the blocks' ratios, so a burst of load on the host that
 *   lands in one block does not move it.
 * - `memory`: fills L1 (ours, `l1: true`) with `entries` items and reports the heap + external growth per entry,
 *   measured with global.gc (run with --expose-gc).
 * Answers with one IPC message: `{ ok: true, result }` or `{ ok: false, error }`.
 */
import { median } from '../support/stats';
import { type HitClient, type HitContenderId, hitContender } from './contenders';

export interface CallsConfig {
  mode: 'calls';
  id: HitContenderId;
  redisUrl: string;
  prefix: string;
  keys: number;
  warmUpOps: number;
  sequentialOps: number;
  /** Blocks the sequential calls (and as many of the reference) are split into. */
  sequentialBlocks: number;
  concurrency: number;
  concurrentMs: number;
}
export interface MemoryConfig {
  mode: 'memory';
  redisUrl: string;
  prefix: string;
  entries: number;
}
export interface CallsResult {
  sequentialUsPerOp: number;
  /** The raw ioredis reference, in the blocks between this contender's (same process, same moments). */
  referenceUsPerOp: number;
  /** The median over blocks of this contender's µs per call / the reference's in the adjacent block. */
  sequentialRatioToReference: number;
  concurrentOpsPerSec: number;
  concurrentUsPerOp: number;
}
export interface MemoryResult {
  entries: number;
  bytes: number;
  bytesPerEntry: number;
  heapBytes: number;
  externalBytes: number;
}

async function calls(config: CallsConfig): Promise<CallsResult> {
  const client = await hitContender(config.id).open({ redisUrl: config.redisUrl, prefix: config.prefix });
  let reference: HitClient | undefined;
  try {
    await warmUp(client, config);
    await runConcurrent(client.get, config.concurrency, config.keys, 300);
    const { ops, elapsedMs } = await runConcurrent(client.get, config.concurrency, config.keys, config.concurrentMs);
    const concurrentOpsPerSec = (ops / elapsedMs) * 1_000;
    await client.selfCheck?.();

    // Opened only after the concurrent calls: measured after the paired sequential blocks (the reference's included),
    // ours' concurrent calls came out about a quarter slower than in a process that never had the reference.
    reference = await hitContender('raw').open({ redisUrl: config.redisUrl, prefix: `${config.prefix}:reference` });
    await warmUp(reference, config);
    const { measuredUs, referenceUs, blockRatios } = await runSequential(client, reference, config);
    return {
      sequentialUsPerOp: measuredUs / config.sequentialOps,
      referenceUsPerOp: referenceUs / config.sequentialOps,
      sequentialRatioToReference: median(blockRatios),
      concurrentOpsPerSec,
      concurrentUsPerOp: 1e6 / concurrentOpsPerSec,
    };
  } finally {
    await client.close();
    await reference?.close();
  }
}

/** Fills the client's `keys` items, then reads them `warmUpOps` times. */
async function warmUp(client: HitClient, config: CallsConfig): Promise<void> {
  for (let id = 0; id < config.keys; id++) await client.get(id);
  for (let i = 0; i < config.warmUpOps; i++) await client.get(i % config.keys);
}

/**
 * `sequentialOps` calls of each client in alternating blocks (each client first in every other block): total µs of
 * each, and each block's ratio of measured to reference µs.
 */
async function runSequential(
  measured: HitClient,
  reference: HitClient,
  config: CallsConfig,
): Promise<{ measuredUs: number; referenceUs: number; blockRatios: number[] }> {
  const blockOps = Math.ceil(config.sequentialOps / config.sequentialBlocks);
  let measuredUs = 0;
  let referenceUs = 0;
  const blockRatios: number[] = [];
  for (let block = 0, done = 0; done < config.sequentialOps; block++, done += blockOps) {
    const ops = Math.min(blockOps, config.sequentialOps - done);
    const timeBlock = async (client: HitClient) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < ops; i++) await client.get((done + i) % config.keys);
      return Number(process.hrtime.bigint() - started) / 1_000;
    };
    let measuredBlockUs: number;
    let referenceBlockUs: number;
    if (block % 2 === 0) {
      measuredBlockUs = await timeBlock(measured);
      referenceBlockUs = await timeBlock(reference);
    } else {
      referenceBlockUs = await timeBlock(reference);
      measuredBlockUs = await timeBlock(measured);
    }
    measuredUs += measuredBlockUs;
    referenceUs += referenceBlockUs;
    blockRatios.push(measuredBlockUs / referenceBlockUs);
  }
  return { measuredUs, referenceUs, blockRatios };
}

/** `concurrency` callers, each awaiting its next call as soon as the last returned, until `durationMs` has passed. */
async function runConcurrent(get: (id: number) => Promise<unknown>, concurrency: number, keys: number, durationMs: number): Promise<{ ops: number; elapsedMs: number }> {
  const started = performance.now();
  const deadline = started + durationMs;
  let ops = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      let i = caller;
      while (performance.now() < deadline) {
        await get(i++ % keys);
        ops++;
      }
    }),
  );
  return { ops, elapsedMs: performance.now() - started };
}

async function memory(config: MemoryConfig): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory mode needs --expose-gc');
  const client = await hitContender('ours-l1').open({ redisUrl: config.redisUrl, prefix: config.prefix });
  try {
    await client.get(-1); // module, codec and connection set up before the baseline
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return process.memoryUsage();
    };
    const before = await settle();
    // Small batches: a thousand concurrent misses (each a lock, a load and a SET) can exceed the store guard's
    // timeout on a busy machine, and an entry whose SET failed is not kept in L1 either.
    const batch = 50;
    for (let id = 0; id < config.entries; id += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, config.entries - id) }, (_, j) => client.get(id + j)));
    }
    const after = await settle();
    // An entry whose SET timed out is not kept in L1 either; count what L1 really holds.
    const held = client.l1Size?.() ?? 0;
    if (held < config.entries / 2) throw new Error(`L1 holds only ${held} of ${config.entries} entries: the measurement would be meaningless`);
    // Buffers live outside the V8 heap: `external` counts them (arrayBuffers is a part of it, not an addition).
    const heapBytes = after.heapUsed - before.heapUsed;
    const externalBytes = after.external - before.external;
    const bytes = heapBytes + externalBytes;
    return { entries: held, bytes, bytesPerEntry: bytes / held, heapBytes, externalBytes };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.HIT_CHILD ?? '') as CallsConfig | MemoryConfig;
  const result = config.mode === 'memory' ? await memory(config) : await calls(config);
  process.send?.({ ok: true, result });
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.send?.({ ok: false, error: error.stack ?? error.message });
    process.exit(1);
  },
);
