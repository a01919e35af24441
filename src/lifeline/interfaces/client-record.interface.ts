import type { RawData, WebSocket } from 'ws';
import type { TopicClaims } from '../permissions/interfaces/topic-claims.interface';
import type { DisconnectReason } from './disconnect-reason';

/**
 * Releases one resource a module attached to a client. May be async. The
 * cleanup pipeline passes the disconnect reason; a disposer run because the
 * client was already gone (attach) gets none.
 */
export type Disposer = (reason?: DisconnectReason) => void | Promise<void>;

/**
 * A resource tied to a client. The cleanup pipeline (and attachResource, for
 * a client already gone) passes the client's record too, so a service can
 * attach one object of its own to every client instead of a closure per client.
 */
export interface ClientResource {
  readonly name: string;
  readonly dispose: (reason?: DisconnectReason, record?: ClientRecord) => void | Promise<void>;
}

/**
 * One live client. The registry owns these records; other services read
 * them and change only the fields documented as theirs.
 *
 * Clock fields are always numbers, NaN meaning "none yet". The registry's
 * records keep them in a Float64Array column and their rarely set fields in
 * one lazily made object, behind accessors (RegisteredClient): a record is
 * read and written as a plain object, but costs about 110 B less.
 */
export interface ClientRecord {
  readonly id: string;
  readonly socket: WebSocket;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly remoteAddress: string | undefined;
  readonly userAgent: string | undefined;
  /** Who the client authenticated as (JWT `sub`), if anyone. */
  readonly userId: string | undefined;
  /** The session this connection holds (SessionsService's field; changes when the client resumes another). */
  sessionId: string | undefined;
  /**
   * PresenceService's field: the connection's member key once it joined;
   * null while it is tracked but not joined (an anonymous connection that
   * may still resume a session); undefined when presence does not track it
   * (before its connect handler, after its release). Kept here rather than in
   * a map of presence's own: one object and one hash-table entry fewer per connection.
   */
  presenceMember: string | null | undefined;
  /** PresenceService's field: topics watched with `presence: true`; created on the first (most connections never do). */
  presenceTopics: Set<string> | undefined;
  /** Epoch milliseconds of the last pong; NaN before the first (heartbeat's field). */
  lastPongAt: number;
  /** Round trip of the last answered protocol ping, in ms; NaN before the first (heartbeat's field). */
  rttMs: number;
  /** performance.now() when the outstanding ping was sent; NaN when none is (heartbeat's field). */
  pingSentAt: number;
  /**
   * Payload of the outstanding ping, which its pong must echo (heartbeat's
   * field): an unsolicited or stale pong answers nothing. Shared by every
   * ping of one sweep, so it costs a reference, not a buffer, per client.
   */
  pingToken: Buffer | undefined;
  /** Close code seen on the socket's 'close' event, if it has closed. */
  closeCode: number | undefined;
  /** `code` of the first 'error' the socket emitted (ws codes such as WS_ERR_INVALID_UTF8). */
  errorCode: string | undefined;
  /**
   * Rate limit token bucket (the rate limiter's fields, see takeToken):
   * performance.now() when the bucket is full again (0: full), refusals in a row.
   */
  rateFullAt: number;
  rateStrikes: number;
  /** performance.now() since when the send buffer has been over the slow-consumer limit. */
  backpressureSince: number | undefined;
  /**
   * Disposers in order of acquisition; released last-in first-out. The
   * registry's field: a list of shared resources may be shared by many
   * clients, so nothing else changes it in place.
   */
  resources: readonly ClientResource[] | undefined;
  /** The JWT `topics` claim, compiled; undefined when the token had none (then the policy decides). */
  readonly topicClaims: TopicClaims | undefined;
  /** Epoch milliseconds at which the JWT expires (`exp`); NaN when it never does. */
  readonly expiresAt: number;
  /**
   * Frames are handled one at a time per client (FrameOrder): undefined when
   * none is in flight, else the frames waiting behind it (often none).
   */
  frameQueue: FrameQueue | undefined;
}

/** The frames of one client waiting behind its frame in flight, oldest at `head`. */
export interface FrameQueue {
  readonly frames: QueuedFrame[];
  head: number;
  /** Bytes of the frames waiting. */
  bytes: number;
}

/** A frame that arrived while an earlier one of its client was still being handled. */
export interface QueuedFrame {
  readonly raw: RawData;
  readonly isBinary: boolean;
  readonly bytes: number;
}

/** What the upgrade gate learned about a connection; the registry stores it. */
export interface Admission {
  userId: string | undefined;
  /** The JWT `topics` claim, if the token carried one. */
  topicClaims?: TopicClaims;
  /** Epoch ms of the JWT `exp`, if any. */
  expiresAt?: number;
}
