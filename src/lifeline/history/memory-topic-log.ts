import { randomBytes } from 'node:crypto';
import type {
  Appended,
  HistoryOptions,
  LogSink,
  ReadAfter,
  TopicLog,
  TopicPosition,
} from './interfaces/topic-log.interface';
import { messageFrame } from './message-frame';

/** Per stored message beyond its frame's characters: the string's header, four array slots and their growth room (measured: about 330 B for a 170-character frame). */
const ENTRY_OVERHEAD_BYTES = 96;

/** One topic's history: the latest frames, oldest at `head`. */
class TopicHistory {
  frames: string[] = [];
  times: number[] = [];
  head = 0;
  /** Offset of the last message appended (0: none). */
  last = 0;
  bytes = 0;
  /** Date.now() of the last append or position read: an empty history is kept a while after it. */
  touchedAt: number;

  constructor(
    readonly topic: string,
    readonly epoch: string,
    now: number,
  ) {
    this.touchedAt = now;
  }

  get count(): number {
    return this.frames.length - this.head;
  }

  /** Offset of the oldest message kept. */
  get first(): number {
    return this.last - this.count + 1;
  }

  /** Drops the oldest message; returns its bytes. */
  shift(): number {
    const frame = this.frames[this.head];
    this.frames[this.head] = '';
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    } else if (this.head === this.frames.length) {
      this.frames = [];
      this.times = [];
      this.head = 0;
    }
    const bytes = frame.length + ENTRY_OVERHEAD_BYTES;
    this.bytes -= bytes;
    return bytes;
  }
}

/**
 * History in this process's memory. Bounds: HISTORY_SIZE messages per
 * topic, HISTORY_TTL_MS of age, HISTORY_MAX_BYTES over all topics (the
 * oldest message of any topic goes first). The epoch is random per process
 * start, plus a generation per topic history, so a restart — or a history
 * dropped after it emptied — never reuses a position.
 *
 * All work is synchronous; the promises only satisfy the TopicLog interface.
 */
export class MemoryTopicLog implements TopicLog {
  private readonly base = randomBytes(6).toString('hex');
  private generation = 0;
  private readonly topics = new Map<string, TopicHistory>();
  /** Every stored message in append order (so oldest first), for byte and age trimming. */
  private order: TopicHistory[] = [];
  private orderOffsets: number[] = [];
  private orderHead = 0;
  private bytes = 0;
  private messages = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: HistoryOptions,
    private readonly sink: LogSink,
    /** How long an empty history (its epoch and last offset) is kept after its last use. */
    private readonly retainMs: number,
    /** Distinguishes epochs of several stores in one process (the cluster's outage fallback). */
    epochPrefix = '',
  ) {
    this.base = epochPrefix + this.base;
  }

  append(topic: string, data: unknown): Promise<Appended> {
    return Promise.resolve(this.appendNow(topic, data));
  }

  /** append(), synchronously. */
  appendNow(topic: string, data: unknown): Appended {
    const now = Date.now();
    const history = this.historyOf(topic, now);
    const offset = ++history.last;
    history.touchedAt = now;
    const frame = messageFrame(topic, data, history.epoch, offset);
    if (this.options.size > 0) {
      history.frames.push(frame);
      history.times.push(now);
      const bytes = frame.length + ENTRY_OVERHEAD_BYTES;
      history.bytes += bytes;
      this.bytes += bytes;
      this.messages++;
      this.order.push(history);
      this.orderOffsets.push(offset);
      while (history.count > this.options.size) this.dropOldestOf(history);
      this.trim(now);
      this.startTimer();
    }
    const recipients = this.sink(topic, frame, offset);
    return { epoch: history.epoch, offset, recipients };
  }

  position(topic: string): Promise<TopicPosition> {
    const history = this.historyOf(topic, Date.now());
    history.touchedAt = Date.now();
    this.startTimer();
    return Promise.resolve({ epoch: history.epoch, offset: history.last });
  }

  readAfter(topic: string, epoch: string, offset: number, max: number): Promise<ReadAfter> {
    this.trim(Date.now());
    const history = this.topics.get(topic);
    if (!history) return Promise.resolve({ ok: false, position: undefined, reason: 'epoch_changed' });
    const position = { epoch: history.epoch, offset: history.last };
    // An offset beyond the last one was never in this history.
    if (history.epoch !== epoch || offset > history.last) {
      return Promise.resolve({ ok: false, position, reason: 'epoch_changed' });
    }
    const missed = history.last - offset;
    if (missed > max) return Promise.resolve({ ok: false, position, reason: 'too_many' });
    if (missed > 0 && offset + 1 < history.first) return Promise.resolve({ ok: false, position, reason: 'trimmed' });
    const start = history.head + (offset + 1 - history.first);
    const messages = [];
    for (let i = start, o = offset + 1; o <= history.last; i++, o++) messages.push({ offset: o, frame: history.frames[i] });
    return Promise.resolve({ ok: true, position, messages });
  }

  stats(): { messages: number; bytes: number } {
    return { messages: this.messages, bytes: this.bytes };
  }

  /** Topic histories held (with messages, or empty but recently used). */
  get topicCount(): number {
    return this.topics.size;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private historyOf(topic: string, now: number): TopicHistory {
    let history = this.topics.get(topic);
    if (!history) {
      history = new TopicHistory(topic, `${this.base}-${++this.generation}`, now);
      this.topics.set(topic, history);
    }
    return history;
  }

  private dropOldestOf(history: TopicHistory): void {
    this.bytes -= history.shift();
    this.messages--;
  }

  /** Drops messages past their age, then the oldest of all while over the byte budget. */
  private trim(now: number): void {
    const cutoff = now - this.options.ttlMs;
    while (this.orderHead < this.order.length) {
      const history = this.order[this.orderHead];
      const offset = this.orderOffsets[this.orderHead];
      const stale = history.count === 0 || offset < history.first || this.topics.get(history.topic) !== history;
      if (!stale) {
        const old = history.times[history.head] < cutoff;
        if (!old && this.bytes <= this.options.maxBytes) break;
        this.dropOldestOf(history);
      }
      this.orderHead++;
    }
    if (this.orderHead >= 1024 && this.orderHead * 2 >= this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderOffsets = this.orderOffsets.slice(this.orderHead);
      this.orderHead = 0;
    } else if (this.orderHead === this.order.length) {
      this.order = [];
      this.orderOffsets = [];
      this.orderHead = 0;
    }
  }

  /** One timer for all topics: ages messages out and forgets empty histories nobody used for retainMs. */
  private startTimer(): void {
    if (this.timer) return;
    const every = Math.max(50, Math.min(5_000, Math.floor(this.options.ttlMs / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  private sweep(): void {
    const now = Date.now();
    this.trim(now);
    for (const [topic, history] of this.topics) {
      if (history.count === 0 && now - history.touchedAt > this.retainMs) this.topics.delete(topic);
    }
    if (this.topics.size === 0) this.close();
  }
}
