/**
 * Cache changes that may not have reached the store: a write or delete that failed or timed out. Such a key may still
 * hold the value the change meant to replace, or receive a write late, when a frozen Redis resumes. Until repaired,
 * this process reads those keys as misses; the repair (delete the keys and their leases, clear the prefixes, bump the
 * tags again) is retried until the store takes it. Commands on one connection run in order, so a repair sent after
 * recovery lands after any write the outage delayed.
 */

/** What is waiting for repair. */
export interface PendingRepairs {
  readonly keys: readonly string[];
  readonly prefixes: readonly string[];
  readonly tags: readonly string[];
}

export class RepairQueue {
  private readonly keys = new Set<string>();
  private readonly prefixes = new Set<string>();
  private readonly tags = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param repair applies the repairs; resolves to whether the store took all of them
   * @param retryMs pause between attempts
   * @param maxKeys beyond this many keys the oldest are given up (their TTL still bounds them)
   */
  constructor(
    private readonly repair: (pending: PendingRepairs) => Promise<boolean>,
    private readonly retryMs = 500,
    private readonly maxKeys = 10_000,
  ) {}

  add(pending: Partial<PendingRepairs>): void {
    for (const key of pending.keys ?? []) this.keys.add(key);
    for (const prefix of pending.prefixes ?? []) this.prefixes.add(prefix);
    for (const tag of pending.tags ?? []) this.tags.add(tag);
    for (const key of this.keys) {
      if (this.keys.size <= this.maxKeys) break;
      this.keys.delete(key);
    }
    this.schedule();
  }

  /**
   * A later write or delete of these keys reached the store: it was sent after anything the outage delayed on the same
   * connection, so it supersedes their repair.
   */
  settled(keys: readonly string[]): void {
    for (const key of keys) this.keys.delete(key);
  }

  /** Whether `key` may hold a value an unrepaired change meant to replace. */
  covers(key: string): boolean {
    if (this.keys.size === 0 && this.prefixes.size === 0) return false;
    if (this.keys.has(key)) return true;
    for (const prefix of this.prefixes) if (key.startsWith(prefix)) return true;
    return false;
  }

  /** Whether `tag` has an invalidation that has not reached the store yet. */
  coversTag(tag: string): boolean {
    return this.tags.has(tag);
  }

  /** Stops retrying (module shutdown). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.attempt(), this.retryMs);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    const pending: PendingRepairs = { keys: [...this.keys], prefixes: [...this.prefixes], tags: [...this.tags] };
    if (pending.keys.length + pending.prefixes.length + pending.tags.length === 0) return;
    if (await this.repair(pending)) {
      for (const key of pending.keys) this.keys.delete(key);
      for (const prefix of pending.prefixes) this.prefixes.delete(prefix);
      for (const tag of pending.tags) this.tags.delete(tag);
    }
    if (this.keys.size + this.prefixes.size + this.tags.size > 0) this.schedule();
  }
}
