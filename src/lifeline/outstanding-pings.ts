import type { ClientRecord } from './interfaces/client-record.interface';

/**
 * Pings awaiting their pong, in the order they were sent.
 *
 * Pings go out in sweep order with a rising clock, so the head always holds
 * the earliest deadline: enforcing the timeout is a look at the head, never
 * a walk over every client. An entry goes stale when its client answers,
 * is pinged again or leaves; `isCurrent()` tells, and stale entries are
 * simply dropped when they reach the head.
 */
export class OutstandingPings {
  private records: (ClientRecord | undefined)[] = [];
  /** performance.now() of each entry's ping; a double array, no boxing. */
  private sentAt: number[] = [];
  private head = 0;

  get size(): number {
    return this.records.length - this.head;
  }

  push(record: ClientRecord, sentAt: number): void {
    this.records.push(record);
    this.sentAt.push(sentAt);
  }

  /** The oldest entry's client, if any. */
  peek(): ClientRecord | undefined {
    return this.records[this.head];
  }

  /** When the oldest entry's ping was sent; NaN when empty. */
  peekSentAt(): number {
    return this.head < this.sentAt.length ? this.sentAt[this.head] : Number.NaN;
  }

  /** Whether the oldest entry still stands for its client's outstanding ping. */
  headIsCurrent(): boolean {
    const record = this.records[this.head];
    return record !== undefined && record.pingSentAt === this.sentAt[this.head];
  }

  shift(): void {
    if (this.head >= this.records.length) return;
    // Let go of the record at once: a departed client must not be kept alive.
    this.records[this.head] = undefined;
    this.head++;
    if (this.head === this.records.length) {
      this.clear();
    } else if (this.head >= 1024 && this.head * 2 >= this.records.length) {
      // Sweeps can push while the head drains; compact now and then.
      this.records = this.records.slice(this.head);
      this.sentAt = this.sentAt.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.records = [];
    this.sentAt = [];
    this.head = 0;
  }
}
