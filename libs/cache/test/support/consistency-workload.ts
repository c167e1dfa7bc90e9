/**
 * The workload of the randomized consistency test and benchmark, run inside each cache worker process: readers and
 * writers on a small set of rows for a fixed time, every operation recorded (see consistency-history.ts).
 *
 * The "database" is a Redis hash in its own key space (`dbKey`, field = row, value = version): HINCRBY is the row
 * update, HGET the row read, so the database is linearizable. A writer holds the row's lock (SET NX) from its
 * database write until the cache has acknowledged, as a row lock held until the cache write would: writes of one row
 * are never reordered between the database and the cache (concurrent write-throughs of one row without it are last-
 * cache-write-wins, see docs/invalidation.md). A reader's loader reads the row, then waits a few ms before returning
 * it, so that fills overlap writes: the cache-aside race.
 *
 * Two implementations run the same schedule: `ours` (CacheService.getOrSet for reads, CacheService.set after the
 * database write for write-through, CacheService.delete for eviction) and `naive` (GET, on a miss the loader and a
 * plain SET; the writer SETs or DELs), the anchor that shows the schedule does produce stale entries.
 */
import type Redis from 'ioredis';
import type { CacheEngine, CacheService } from '@app/cache';
import type { HistoryOp } from './consistency-history';

/** One run of the workload in one process. */
export interface ConsistencyLoadSpec {
  mode: 'ours' | 'naive';
  /** Policy of `ours` reads and writes. */
  policy: string;
  /** Row ids; the cache key of row `k` is `row:k` (ours) or `<naivePrefix>:row:k` (naive). */
  rows: string[];
  /** The database hash. */
  dbKey: string;
  naivePrefix: string;
  /** Epoch ms at which every process starts, and how long the load lasts. */
  startAt: number;
  durationMs: number;
  readers: number;
  writers: number;
  /** Loader delay after the row read, ms, uniform in [min, max]. */
  loaderMs: [number, number];
  readerPauseMs: [number, number];
  writerPauseMs: [number, number];
  /** Share of writes that evict (the others write through). */
  evictShare: number;
}

/** What a process holds for one row after the load: its L1 copy (ours) and what a read returns now. */
export interface RowSnapshot {
  row: string;
  /** The row's full cache key in the shared store. */
  cacheKey: string;
  l1Version: number | null;
  readVersion: number;
}

/** A row's value: its id and the version it was read at. */
interface RowValue {
  id: string;
  version: number;
}

export const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

/** Connections a worker gives the workload. */
export interface WorkloadDeps {
  cache: CacheService;
  engine: CacheEngine;
  /** Database connection (also used by the naive cache: one plain client, as naive code has). */
  db: Redis;
}

/** Runs readers and writers until the deadline, waits for every operation in flight, returns the history. */
export async function runConsistencyLoad(deps: WorkloadDeps, spec: ConsistencyLoadSpec): Promise<HistoryOp[]> {
  const ops: HistoryOp[] = [];
  const deadline = spec.startAt + spec.durationMs;
  await sleep(Math.max(0, spec.startAt - now()));
  const reader = async () => {
    while (now() < deadline) {
      const row = pick(spec.rows);
      const start = now();
      const value = await read(deps, spec, row);
      ops.push({ kind: 'read', key: row, pid: process.pid, start, end: now(), version: value.version });
      await sleep(between(spec.readerPauseMs));
    }
  };
  const writer = async () => {
    while (now() < deadline) {
      await sleep(between(spec.writerPauseMs));
      if (now() >= deadline) break;
      ops.push(await write(deps, spec, pick(spec.rows)));
    }
  };
  await Promise.all([...Array.from({ length: spec.readers }, reader), ...Array.from({ length: spec.writers }, writer)]);
  return ops;
}

/** Reads a row through the cache under test. */
async function read(deps: WorkloadDeps, spec: ConsistencyLoadSpec, row: string): Promise<RowValue> {
  const load = async (): Promise<RowValue> => {
    const version = Number((await deps.db.hget(spec.dbKey, row)) ?? 0);
    await sleep(between(spec.loaderMs));
    return { id: row, version };
  };
  if (spec.mode === 'ours') return deps.cache.getOrSet<RowValue>(`row:${row}`, load, { policy: spec.policy });
  const key = `${spec.naivePrefix}:row:${row}`;
  const cached = await deps.db.get(key);
  if (cached !== null) return JSON.parse(cached) as RowValue;
  const value = await load();
  await deps.db.set(key, JSON.stringify(value), 'PX', 60_000);
  return value;
}

/** Updates a row in the database, then the cache (write-through or eviction), holding the row's lock throughout. */
async function write(deps: WorkloadDeps, spec: ConsistencyLoadSpec, row: string): Promise<HistoryOp> {
  const lockKey = `${spec.dbKey}:lock:${row}`;
  while ((await deps.db.set(lockKey, String(process.pid), 'PX', 5_000, 'NX')) !== 'OK') await sleep(1);
  try {
    const via = Math.random() < spec.evictShare ? 'evict' : 'write-through';
    const start = now();
    const version = await deps.db.hincrby(spec.dbKey, row, 1);
    const value: RowValue = { id: row, version };
    if (spec.mode === 'ours') {
      if (via === 'evict') await deps.cache.delete(`row:${row}`);
      else await deps.cache.set(`row:${row}`, value, { policy: spec.policy });
    } else {
      const key = `${spec.naivePrefix}:row:${row}`;
      if (via === 'evict') await deps.db.del(key);
      else await deps.db.set(key, JSON.stringify(value), 'PX', 60_000);
    }
    return { kind: 'write', key: row, pid: process.pid, start, end: now(), version, via };
  } finally {
    await deps.db.del(lockKey);
  }
}

/**
 * After the load: each row's L1 copy in this process (ours), peeked for every row before any read, then the version
 * a read of each row returns now.
 */
export async function snapshotRows(deps: WorkloadDeps, spec: ConsistencyLoadSpec): Promise<RowSnapshot[]> {
  const snapshots = spec.rows.map((row): RowSnapshot => {
    const cacheKey = spec.mode === 'ours' ? deps.cache.keyOf(`row:${row}`) : `${spec.naivePrefix}:row:${row}`;
    let l1Version: number | null = null;
    if (spec.mode === 'ours') {
      // Peeks at the engine's L1 without going through the caching algorithm (as CacheService.inspect does).
      const bytes = (deps.engine as unknown as { l1: { getNow(key: string): Buffer | undefined } }).l1.getNow(cacheKey);
      if (bytes) l1Version = (JSON.parse(bytes.toString()) as { v: RowValue }).v.version;
    }
    return { row, cacheKey, l1Version, readVersion: -1 };
  });
  for (const snapshot of snapshots) snapshot.readVersion = (await read(deps, { ...spec, loaderMs: [0, 0] }, snapshot.row)).version;
  return snapshots;
}
