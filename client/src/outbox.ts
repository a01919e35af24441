import { LifelineError } from './errors';

export interface PublishResult {
  /** The message's offset in its topic; undefined when the server does not report one (no sessions). */
  offset: number | undefined;
}

export interface OutboxLimits {
  /** Unacknowledged publishes held at most (default 1,000). */
  maxMessages?: number;
  /** Their frames' total UTF-8 size at most (default 1 MiB). */
  maxBytes?: number;
}

export const DEFAULT_OUTBOX = { maxMessages: 1000, maxBytes: 1024 * 1024 } as const;

export interface OutgoingPublish {
  readonly id: string;
  readonly topic: string;
  /** The whole frame, serialised once. */
  readonly frame: string;
  readonly bytes: number;
  /** The connection number it was last sent on (0 = not yet). */
  sentOn: number;
  resolve(result: PublishResult): void;
  reject(error: LifelineError): void;
}

/**
 * Publishes from `publish()` until the server acknowledges them (`published`
 * with their id). Bounded in count and bytes; in id order, which is the order
 * they are (re-)sent in. Each settles exactly once.
 */
export class Outbox {
  readonly maxMessages: number;
  readonly maxBytes: number;
  private readonly entries = new Map<string, OutgoingPublish>();
  private totalBytes = 0;

  constructor(limits: OutboxLimits = {}) {
    this.maxMessages = limits.maxMessages ?? DEFAULT_OUTBOX.maxMessages;
    this.maxBytes = limits.maxBytes ?? DEFAULT_OUTBOX.maxBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Adds a publish, or throws `queue_full` when it would exceed a bound. */
  add(entry: Omit<OutgoingPublish, 'sentOn'>): OutgoingPublish {
    if (this.entries.size + 1 > this.maxMessages) {
      throw new LifelineError('queue_full', `publish queue full: ${this.maxMessages} messages await acknowledgement`);
    }
    if (this.totalBytes + entry.bytes > this.maxBytes) {
      throw new LifelineError(
        'queue_full',
        `publish queue full: ${this.totalBytes} + ${entry.bytes} bytes would exceed ${this.maxBytes}`,
      );
    }
    const stored: OutgoingPublish = { ...entry, sentOn: 0 };
    this.entries.set(entry.id, stored);
    this.totalBytes += entry.bytes;
    return stored;
  }

  /** The server acknowledged `id`: settle it once; later duplicates are ignored. */
  acknowledge(id: string, offset: number | undefined): boolean {
    const entry = this.take(id);
    if (!entry) return false;
    entry.resolve({ offset });
    return true;
  }

  fail(id: string, error: LifelineError): boolean {
    const entry = this.take(id);
    if (!entry) return false;
    entry.reject(error);
    return true;
  }

  /** Entries not yet sent on connection `connection`, oldest first. */
  unsentOn(connection: number): OutgoingPublish[] {
    const out: OutgoingPublish[] = [];
    for (const entry of this.entries.values()) if (entry.sentOn !== connection) out.push(entry);
    return out;
  }

  /** The oldest entry for a topic sent on this connection. */
  oldestFor(topic: string | undefined, connection: number): OutgoingPublish | undefined {
    for (const entry of this.entries.values()) {
      if (entry.sentOn === connection && (topic === undefined || entry.topic === topic)) return entry;
    }
    return undefined;
  }

  /** The largest entry sent on this connection (the one a 1009 close must have been about). */
  largestSentOn(connection: number): OutgoingPublish | undefined {
    let largest: OutgoingPublish | undefined;
    for (const entry of this.entries.values()) {
      if (entry.sentOn === connection && (!largest || entry.bytes > largest.bytes)) largest = entry;
    }
    return largest;
  }

  get(id: string): OutgoingPublish | undefined {
    return this.entries.get(id);
  }

  /** Every entry, oldest first. */
  all(): OutgoingPublish[] {
    return [...this.entries.values()];
  }

  /** Rejects everything (close()). */
  failAll(error: LifelineError): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.totalBytes = 0;
    for (const entry of all) entry.reject(error);
  }

  private take(id: string): OutgoingPublish | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    this.totalBytes -= entry.bytes;
    return entry;
  }
}
