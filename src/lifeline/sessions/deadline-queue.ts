/**
 * Keys due at deadlines that arrive in order (a fixed TTL from now): a FIFO
 * with one timer on its head, not a timer per key. `due` decides for each
 * key whose deadline passed (it may have been renewed meanwhile: it checks).
 */
export class DeadlineQueue {
  private keys: string[] = [];
  private deadlines: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly due: (key: string, deadline: number) => void) {}

  get length(): number {
    return this.keys.length - this.head;
  }

  push(key: string, deadline: number): void {
    this.keys.push(key);
    this.deadlines.push(deadline);
    if (this.length === 1 || deadline < this.armedFor) this.arm();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  /** Runs every entry whose deadline has passed, then re-arms for the next. */
  run(now = Date.now()): void {
    while (this.head < this.keys.length && this.deadlines[this.head] <= now) {
      const key = this.keys[this.head];
      const deadline = this.deadlines[this.head];
      this.head++;
      this.due(key, deadline);
    }
    if (this.head === this.keys.length) {
      this.keys = [];
      this.deadlines = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }

  private arm(): void {
    this.close();
    if (this.length === 0) return;
    const deadline = this.deadlines[this.head];
    this.armedFor = deadline;
    this.timer = setTimeout(() => this.run(), Math.max(0, deadline - Date.now()));
    this.timer.unref();
  }
}
