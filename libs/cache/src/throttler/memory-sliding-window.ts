import type { SlidingWindow, WindowDecision, WindowKeys } from './sliding-window';

interface ClientWindow {
  /** Times of the allowed hits, oldest first. */
  hits: number[];
  blockedUntil: number;
}

/** How often idle clients are forgotten. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * {@link SlidingWindow} in this process, for a module without Redis (tests, single-process demos): the same
 * semantics as the Redis script, on this process's monotonic clock. Not shared between processes.
 */
export class MemorySlidingWindow implements SlidingWindow {
  private readonly clients = new Map<string, ClientWindow>();
  private sweeper: NodeJS.Timeout | undefined;
  /** The longest window asked for so far: a client idle for longer has no hit left that could count. */
  private longestWindowMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  async hit(keys: WindowKeys, windowMs: number, limit: number, blockMs: number): Promise<WindowDecision> {
    this.startSweeper();
    this.longestWindowMs = Math.max(this.longestWindowMs, windowMs);
    const now = this.now();
    let client = this.clients.get(keys.hits);
    if (!client) this.clients.set(keys.hits, (client = { hits: [], blockedUntil: 0 }));
    const firstLive = client.hits.findIndex((at) => at > now - windowMs);
    client.hits = firstLive === -1 ? [] : client.hits.slice(firstLive);
    const count = client.hits.length;
    const resetMs = () => (client.hits.length ? Math.ceil(client.hits[0] + windowMs - now) : 0);
    if (client.blockedUntil > now) return { allowed: false, hits: count + 1, resetMs: resetMs(), retryMs: Math.ceil(client.blockedUntil - now) };
    if (count < limit) {
      client.hits.push(now);
      return { allowed: true, hits: count + 1, resetMs: resetMs(), retryMs: 0 };
    }
    if (blockMs > 0) {
      client.blockedUntil = now + blockMs;
      return { allowed: false, hits: count + 1, resetMs: resetMs(), retryMs: Math.ceil(blockMs) };
    }
    return { allowed: false, hits: count + 1, resetMs: resetMs(), retryMs: resetMs() };
  }

  /** Forgets every client (on shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.clients.clear();
  }

  /** Idle clients are dropped once their block is over and their last hit is out of every window. */
  private startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = this.now();
      for (const [key, client] of this.clients) {
        const last = client.hits[client.hits.length - 1] ?? -Infinity;
        if (client.blockedUntil <= now && last < now - this.longestWindowMs) this.clients.delete(key);
      }
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }
}
