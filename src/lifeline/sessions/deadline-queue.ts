import { DeadlineFifo } from '../deadline-fifo';

/**
 * Keys due at deadlines that arrive in order (a fixed TTL from now): a FIFO
 * with one timer on its head, not a timer per key. `due` decides for each
 * key whose deadline passed (it may have been renewed meanwhile: it checks).
 */
export class DeadlineQueue {
  private readonly fifo = new DeadlineFifo();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly due: (key: string, deadline: number) => void) {}

  get length(): number {
    return this.fifo.length;
  }

  push(key: string, deadline: number): void {
    this.fifo.push(key, deadline);
    if (this.length === 1 || deadline < this.armedFor) this.arm();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  /** Runs every entry whose deadline has passed, then re-arms for the next. */
  run(now = Date.now()): void {
    this.fifo.drain(now, this.due);
    this.arm();
  }

  private arm(): void {
    this.close();
    if (this.length === 0) return;
    const deadline = this.fifo.next;
    this.armedFor = deadline;
    this.timer = setTimeout(() => this.run(), Math.max(0, deadline - Date.now()));
    this.timer.unref();
  }
}
