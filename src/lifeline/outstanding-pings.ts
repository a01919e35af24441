import type { ClientRecord } from './interfaces/client-record.interface';

const INITIAL_CAPACITY = 1024;

/**
 * Pings awaiting their pong, in the order they were sent.
 *
 * Pings go out in sweep order with a rising clock, so the head always holds
 * the earliest deadline: enforcing the timeout is a look at the head, never
 * a walk over every client. An entry goes stale when its client answers,
 * is pinged again or leaves; `headIsCurrent()` tells, and stale entries are
 * simply dropped when they reach the head.
 *
 * A ring that only grows: a sweep of 20k clients passes through it every
 * interval, and fresh arrays each time would be garbage each time.
 */
export class OutstandingPings {
  private records: (ClientRecord | undefined)[] = new Array<undefined>(INITIAL_CAPACITY).fill(undefined);
  /** performance.now() of each entry's ping; unboxed doubles. */
  private sentAt = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(record: ClientRecord, sentAt: number): void {
    if (this.count === this.records.length) this.grow();
    const slot = (this.head + this.count) % this.records.length;
    this.records[slot] = record;
    this.sentAt[slot] = sentAt;
    this.count++;
  }

  /** The oldest entry's client, if any. */
  peek(): ClientRecord | undefined {
    return this.count > 0 ? this.records[this.head] : undefined;
  }

  /** When the oldest entry's ping was sent; NaN when empty. */
  peekSentAt(): number {
    return this.count > 0 ? this.sentAt[this.head] : Number.NaN;
  }

  /** Whether the oldest entry still stands for its client's outstanding ping. */
  headIsCurrent(): boolean {
    const record = this.peek();
    return record !== undefined && record.pingSentAt === this.sentAt[this.head];
  }

  shift(): void {
    if (this.count === 0) return;
    // Let go of the record at once: a departed client must not be kept alive.
    this.records[this.head] = undefined;
    this.head = (this.head + 1) % this.records.length;
    this.count--;
  }

  private grow(): void {
    const capacity = this.records.length * 2;
    const records = new Array<ClientRecord | undefined>(capacity).fill(undefined);
    const sentAt = new Float64Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % this.records.length;
      records[i] = this.records[from];
      sentAt[i] = this.sentAt[from];
    }
    this.records = records;
    this.sentAt = sentAt;
    this.head = 0;
  }
}
