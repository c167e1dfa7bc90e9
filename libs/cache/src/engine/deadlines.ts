/** A started call's timeout; see {@link Deadlines}. */
export interface Deadline {
  /** performance.now() at which the call times out. */
  readonly at: number;
  readonly expire: () => void;
  readonly queue: DurationQueue;
  /** Set once the call settled in time. */
  cancelled: boolean;
}

/**
 * Timeouts for many concurrent calls with one timer per duration. Calls of one duration time out in the order they
 * started, so each duration's timer only waits for its oldest call, and a call that settles in time is just dropped
 * from its queue. A timer per call cost a Timeout object per store read and, on a process that waits for one read at
 * a time, arming and disarming the event loop's timer handle around every read (bench:hit: about 5 µs of CPU per
 * sequential hit on a 2-core host). Cancelling only marks the deadline: calls mostly settle in the order they
 * started, so marked deadlines leave the front of the queue at once, and the rest at the latest when the calls
 * before them settle or expire (a Set instead cost a rehash of its table every few reads).
 *
 * The timers do not keep the process alive: the call being timed holds its own socket or handle open.
 */
export class Deadlines {
  private readonly queues = new Map<number, DurationQueue>();

  /** Calls `expire` once `timeoutMs` has passed (in the next pass of the event loop), unless cancelled before. */
  start(timeoutMs: number, expire: () => void): Deadline {
    let queue = this.queues.get(timeoutMs);
    if (!queue) {
      queue = new DurationQueue();
      this.queues.set(timeoutMs, queue);
    }
    const deadline: Deadline = { at: performance.now() + timeoutMs, expire, queue, cancelled: false };
    queue.add(deadline, timeoutMs);
    return deadline;
  }

  /** Drops a deadline whose call settled; `expire` will not be called (unless it already was). */
  cancel(deadline: Deadline): void {
    deadline.cancelled = true;
    deadline.queue.dropSettled();
  }
}

/** The calls of one duration, oldest first, and the timer armed for the oldest. */
class DurationQueue {
  /** Insertion order is deadline order: every call in the queue has the same duration. */
  private readonly pending: Deadline[] = [];
  private timer: NodeJS.Timeout | undefined;

  add(deadline: Deadline, timeoutMs: number): void {
    this.pending.push(deadline);
    if (!this.timer) this.arm(timeoutMs);
  }

  /** Drops the cancelled deadlines at the front of the queue. */
  dropSettled(): void {
    while (this.pending.length > 0 && this.pending[0].cancelled) this.pending.shift();
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.sweep(), delayMs);
    this.timer.unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    const expired: Deadline[] = [];
    while (this.pending.length > 0) {
      const deadline = this.pending[0];
      if (!deadline.cancelled && deadline.at > now) {
        this.arm(deadline.at - now);
        break;
      }
      this.pending.shift();
      if (!deadline.cancelled) expired.push(deadline);
    }
    // Timers run before I/O in each turn of the event loop: on a saturated process the reply may already be waiting
    // in the socket when the timer fires. setImmediate lets this turn's I/O settle the calls first, so a busy event
    // loop is not mistaken for a slow store (which would open the breaker on a healthy Redis).
    if (expired.length > 0) setImmediate(() => expired.forEach((deadline) => deadline.cancelled || deadline.expire()));
  }
}
