import { performance } from 'node:perf_hooks';

/** One armed deadline; `settle()` once the step has finished, whichever way. */
export class StepDeadline {
  /** False once settled or expired. */
  live = true;

  constructor(
    readonly at: number,
    readonly onExpire: () => void,
    private readonly owner: StepDeadlines,
  ) {}

  settle(): void {
    if (!this.live) return;
    this.live = false;
    this.owner.settled();
  }
}

/**
 * Deadlines of the cleanup steps under way, in the order they started: one
 * shared structure with one timer, instead of a timer armed and cleared per
 * step (the heartbeat's pong FIFO does the same for pings).
 *
 * Every step gets the same timeout, so the order steps start in is the order
 * their deadlines fall in: the head always holds the earliest one. Settled
 * entries are dropped when they reach the head; the timer follows the head.
 * When nothing is left the timer is not cleared but unref'd (the next step,
 * a moment later under churn, refs it again instead of arming a new one), so
 * an idle server holds nothing that keeps it alive, and the timer fires once
 * more, finds nothing and is gone. Only a step that did not finish
 * synchronously is armed at all.
 */
export class StepDeadlines {
  private queue: StepDeadline[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(readonly timeoutMs: number) {}

  /** Steps armed and not yet settled or expired (settled entries may still wait in the queue). */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** Whether the shared timer holds the process; false when nothing is under way. */
  get armed(): boolean {
    return this.timer?.hasRef() ?? false;
  }

  /** Arms a deadline `timeoutMs` from now; `onExpire` runs then unless settled first. */
  arm(onExpire: () => void, now = performance.now()): StepDeadline {
    const deadline = new StepDeadline(now + this.timeoutMs, onExpire, this);
    this.queue.push(deadline);
    if (this.timer !== undefined && this.timerAt <= deadline.at) this.timer.ref();
    else this.schedule(deadline.at, now);
    return deadline;
  }

  /** Called by a deadline that settled: drop finished entries at the head. */
  settled(): void {
    this.trim();
  }

  /** Fires every live deadline that is due; called by the timer (and by tests). */
  expire(now = performance.now()): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    // A timer may fire a fraction of a millisecond before performance.now() says it is due.
    while (this.head < this.queue.length && this.queue[this.head].at <= now + 1) {
      const deadline = this.queue[this.head++];
      if (!deadline.live) continue;
      deadline.live = false;
      // onExpire contains its own errors (it reports the step as failed).
      deadline.onExpire();
    }
    this.trim(now);
  }

  private trim(now = performance.now()): void {
    while (this.head < this.queue.length && !this.queue[this.head].live) this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.timer?.unref();
      return;
    }
    // Drop the settled prefix now and then, not at every step.
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // The timer may point at an entry that settled; it then fires early, finds
    // nothing due and re-arms for the new head. Only re-arm here when nothing is armed.
    if (this.timer === undefined) this.schedule(this.queue[this.head].at, now);
  }

  private schedule(at: number, now: number): void {
    if (this.timer !== undefined && this.timerAt <= at) {
      this.timer.ref();
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - now));
  }
}
