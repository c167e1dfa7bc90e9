import type { Cluster, Redis } from 'ioredis';

/**
 * Start-up check of the memory settings of the Redis the cache runs on. A cache needs a memory limit and an eviction
 * policy: with `maxmemory 0` Redis grows until the host runs out of memory, and with `noeviction` a full Redis
 * refuses every write (OOM) instead of dropping old entries, so the cache silently stops caching. The settings are
 * read with CONFIG GET, else INFO memory (managed services often forbid CONFIG); when ACLs forbid both, the check
 * says nothing rather than guess.
 */

/** The memory settings of one Redis node. */
export interface RedisMemorySettings {
  /** `maxmemory` in bytes; 0 means no limit. */
  readonly maxmemory: number;
  /** `maxmemory-policy`, e.g. `allkeys-lru`. */
  readonly policy: string;
  /** Where they were read. */
  readonly source: 'CONFIG' | 'INFO';
}

/** What the check found: the settings (one per Cluster master), a warning if they do not suit a cache, a summary. */
export interface RedisMemoryCheck {
  readonly settings: readonly RedisMemorySettings[];
  /** One line to log as a warning; undefined when the settings suit a cache. */
  readonly warning: string | undefined;
  /** e.g. `maxmemory 256mb, maxmemory-policy allkeys-lru`, for the start-up info line. */
  readonly summary: string;
}

/** How long the check waits for Redis at start-up. */
const CHECK_TIMEOUT_MS = 1_000;

/**
 * Reads the memory settings of every node the client writes to (the masters of a Cluster) and judges them.
 * Resolves to undefined when they cannot be read (ACLs, renamed commands, timeout); `onUnreadable` gets the reason.
 */
export async function checkRedisMemory(client: Redis | Cluster, onUnreadable: (reason: string) => void = () => undefined): Promise<RedisMemoryCheck | undefined> {
  const nodes = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  try {
    const settings = await Promise.all(nodes.map((node) => readRedisMemorySettings(node)));
    return judgeMemorySettings(settings);
  } catch (error) {
    onUnreadable(error instanceof Error ? error.message : String(error));
    return undefined;
  }
}

/** `CONFIG GET maxmemory*`, falling back to `INFO memory`; rejects when neither is allowed. */
export async function readRedisMemorySettings(node: Redis): Promise<RedisMemorySettings> {
  try {
    const reply = (await withTimeout(node.config('GET', 'maxmemory*'))) as string[];
    const config = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) config.set(reply[i], reply[i + 1]);
    const maxmemory = Number(config.get('maxmemory'));
    const policy = config.get('maxmemory-policy');
    if (Number.isFinite(maxmemory) && policy) return { maxmemory, policy, source: 'CONFIG' };
  } catch {
    // NOPERM or a renamed CONFIG (managed Redis): INFO may still be allowed.
  }
  const info = await withTimeout(node.info('memory'));
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const maxmemory = Number(field('maxmemory'));
  const policy = field('maxmemory_policy');
  if (!Number.isFinite(maxmemory) || !policy) throw new Error('INFO memory has no maxmemory / maxmemory_policy');
  return { maxmemory, policy, source: 'INFO' };
}

/** The warning (if any) and summary for the settings of the nodes. */
export function judgeMemorySettings(settings: readonly RedisMemorySettings[]): RedisMemoryCheck {
  const unlimited = settings.some((node) => node.maxmemory === 0);
  const noEviction = settings.some((node) => node.policy === 'noeviction');
  const problems: string[] = [];
  if (unlimited) problems.push('maxmemory is 0 (no limit: Redis grows until the host runs out of memory and nothing is ever evicted)');
  if (noEviction) problems.push('maxmemory-policy is noeviction (a full Redis refuses writes with OOM, so the cache stops caching)');
  const warning = problems.length
    ? `Redis is not set up as a cache: ${problems.join('; ')}. Set maxmemory and maxmemory-policy allkeys-lru or allkeys-lfu (see docs/operations.md)`
    : undefined;
  const distinct = [...new Set(settings.map((node) => `maxmemory ${formatBytes(node.maxmemory)}, maxmemory-policy ${node.policy}`))];
  return { settings, warning, summary: distinct.join(' | ') };
}

/** 268435456 -> '256mb'; 0 -> '0 (unlimited)'. */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0 (unlimited)';
  for (const [unit, size] of [['gb', 1024 ** 3], ['mb', 1024 ** 2], ['kb', 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}b`;
}

function withTimeout<T>(call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}
