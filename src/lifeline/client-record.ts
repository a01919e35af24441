import type { WebSocket } from 'ws';
import type { ClockColumn, ClockSlot } from './clock-column';
import type { ClientRecord, ClientResource, FrameQueue } from './interfaces/client-record.interface';
import type { TopicClaims } from './permissions/interfaces/topic-claims.interface';

/** Field indexes within a client's clock slot. */
const CONNECTED_AT = 0;
const LAST_PONG_AT = 1;
const RTT_MS = 2;
const PING_SENT_AT = 3;
const EXPIRES_AT = 4;
const RATE_FULL_AT = 5;
export const CLOCK_FIELDS = 6;

/**
 * Fields most clients never set (a close code is set once, at the end): one
 * object made on the first write instead of a field each on every record.
 */
interface RareFields {
  closeCode: number | undefined;
  errorCode: string | undefined;
  backpressureSince: number | undefined;
  presenceTopics: Set<string> | undefined;
  topicClaims: TopicClaims | undefined;
}

/**
 * The registry's ClientRecord. Its clocks live in a ClockColumn slot and its
 * rare fields in one lazily made object; accessors keep ClientRecord's
 * property shape, so readers and writers do not know. About 136 B plus 48 B
 * of column per client, where a plain object was 200 B plus 96 B of boxed numbers.
 */
export class RegisteredClient implements ClientRecord, ClockSlot {
  sessionId: string | undefined = undefined;
  presenceMember: string | null | undefined = undefined;
  pingToken: Buffer | undefined = undefined;
  rateStrikes = 0;
  resources: readonly ClientResource[] | undefined = undefined;
  frameQueue: FrameQueue | undefined = undefined;
  clocks!: Float64Array;
  at = 0;
  private rare: RareFields | undefined = undefined;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    readonly remoteAddress: string | undefined,
    readonly userAgent: string | undefined,
    readonly userId: string | undefined,
    topicClaims: TopicClaims | undefined,
    expiresAt: number,
    column: ClockColumn,
  ) {
    column.take(this);
    const c = this.clocks;
    const at = this.at;
    c[at + CONNECTED_AT] = Date.now();
    c[at + LAST_PONG_AT] = Number.NaN;
    c[at + RTT_MS] = Number.NaN;
    c[at + PING_SENT_AT] = Number.NaN;
    c[at + EXPIRES_AT] = expiresAt;
    c[at + RATE_FULL_AT] = 0;
    if (topicClaims !== undefined) this.more().topicClaims = topicClaims;
  }

  get connectedAt(): number {
    return this.clocks[this.at + CONNECTED_AT];
  }
  get expiresAt(): number {
    return this.clocks[this.at + EXPIRES_AT];
  }
  get lastPongAt(): number {
    return this.clocks[this.at + LAST_PONG_AT];
  }
  set lastPongAt(value: number) {
    this.clocks[this.at + LAST_PONG_AT] = value;
  }
  get rttMs(): number {
    return this.clocks[this.at + RTT_MS];
  }
  set rttMs(value: number) {
    this.clocks[this.at + RTT_MS] = value;
  }
  get pingSentAt(): number {
    return this.clocks[this.at + PING_SENT_AT];
  }
  set pingSentAt(value: number) {
    this.clocks[this.at + PING_SENT_AT] = value;
  }
  get rateFullAt(): number {
    return this.clocks[this.at + RATE_FULL_AT];
  }
  set rateFullAt(value: number) {
    this.clocks[this.at + RATE_FULL_AT] = value;
  }

  get topicClaims(): TopicClaims | undefined {
    return this.rare?.topicClaims;
  }
  get closeCode(): number | undefined {
    return this.rare?.closeCode;
  }
  set closeCode(value: number | undefined) {
    if (value !== undefined || this.rare) this.more().closeCode = value;
  }
  get errorCode(): string | undefined {
    return this.rare?.errorCode;
  }
  set errorCode(value: string | undefined) {
    if (value !== undefined || this.rare) this.more().errorCode = value;
  }
  get backpressureSince(): number | undefined {
    return this.rare?.backpressureSince;
  }
  set backpressureSince(value: number | undefined) {
    if (value !== undefined || this.rare) this.more().backpressureSince = value;
  }
  get presenceTopics(): Set<string> | undefined {
    return this.rare?.presenceTopics;
  }
  set presenceTopics(value: Set<string> | undefined) {
    if (value !== undefined || this.rare) this.more().presenceTopics = value;
  }

  private more(): RareFields {
    return (this.rare ??= {
      closeCode: undefined,
      errorCode: undefined,
      backpressureSince: undefined,
      presenceTopics: undefined,
      topicClaims: undefined,
    });
  }
}
