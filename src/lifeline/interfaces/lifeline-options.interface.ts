import type { PresenceOptions } from '../presence/interfaces/presence.interface';
import type { HistoryOptions } from '../history/interfaces/topic-log.interface';

export type { HistoryOptions };

export interface LifelineModuleOptions extends LifelineLimitOptions {
  /** WebSocket path on the HTTP server. Default `/ws`. */
  path?: string;
  /** Time between heartbeat sweeps. Default 25000. */
  heartbeatIntervalMs?: number;
  /** How long a ping may stay unanswered. Must be below the interval. Default 10000. */
  heartbeatTimeoutMs?: number;
  /** How long one cleanup step may run before it is abandoned. Default 5000. */
  cleanupStepTimeoutMs?: number;
  /** How long shutdown waits for clients to finish the close handshake. Default 10000. */
  shutdownGraceMs?: number;
  /**
   * Longest stretch of heartbeat work before the sweep yields to the event
   * loop, in ms. Default 1: pongs arriving meanwhile are handled in the same
   * turn of the loop, so a turn lasts about twice the slice.
   */
  sweepSliceMs?: number;
  /**
   * Read every upgraded plain-TCP socket into one shared buffer and copy each
   * read into Node's Buffer pool, instead of a 64 KB allocation per read
   * (see node-seam/shared-read-buffer.ts). Default true; on an unpinned Node
   * it does nothing. SHARED_READ_BUFFER.
   */
  sharedReadBuffer?: boolean;
  /** User and topic presence (PRESENCE_GRACE_MS, PRESENCE_BATCH_MS). */
  presence?: PresenceOptions;
  /** How long a session outlives its connection, in ms (a client may resume it meanwhile); 0 turns sessions off. Default 120000. */
  sessionTtlMs?: number;
  /** Topic history, for replay on resume. */
  history?: HistoryOptions;
  /**
   * What a client may do with a topic when neither its token's `topics`
   * claim nor a TopicPolicy decides: `open` (default) allows, `closed` refuses.
   */
  defaultTopicPolicy?: 'open' | 'closed';
  /** How long an async TopicPolicy may take; past it the action is refused. Default 5000. */
  topicPolicyTimeoutMs?: number;
}

/** How a client proves who it is before the upgrade. */
export type AuthOptions =
  | { mode: 'none' }
  /** Any of these opaque tokens is accepted; the client has no userId. */
  | { mode: 'token'; tokens: string[] }
  /** HS256 JWT; `exp` is honoured, `sub` becomes the client's userId. */
  | { mode: 'jwt'; secret: string; audience?: string; issuer?: string };

export interface RateLimitOptions {
  /** Tokens added per second (sustained messages per second). */
  perSecond: number;
  /** Bucket size: how many messages may arrive at once. */
  burst: number;
}

export interface SlowConsumerOptions {
  /** A client whose send buffer stays above this many bytes... */
  maxBufferedBytes: number;
  /** ...for longer than this is terminated as `slow_consumer`. */
  graceMs: number;
  /**
   * Past this many buffered bytes a client is terminated at once, grace or
   * not: memory per client stays at most this plus one message. Default 4 ×
   * maxBufferedBytes; must not be below it.
   */
  hardLimitBytes?: number;
}

export interface LifelineLimitOptions {
  /** Who may connect. Default `{ mode: 'none' }`. */
  auth?: AuthOptions;
  /**
   * Accepted `Origin` header values; empty or absent accepts any. Checked
   * when a request carries an Origin (browsers always do); a request without
   * one (native apps, servers) goes on to authentication unless requireOrigin.
   */
  allowedOrigins?: string[];
  /** Refuse (403) a request without an Origin header when allowedOrigins is set. Default false. */
  requireOrigin?: boolean;
  /** Upgrades beyond this many clients get HTTP 503. Default: open-file limit minus a reserve. */
  maxClients?: number;
  /** Largest accepted frame; a larger one closes the connection with 1009. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Per-client message rate. */
  rateLimit?: RateLimitOptions;
  slowConsumer?: SlowConsumerOptions;
  /** A TCP connection that has not completed the upgrade by then is dropped. Default 10000. */
  handshakeTimeoutMs?: number;
  /** Accept binary frames (as JSON text). Default false: close with 1003. */
  allowBinary?: boolean;
  /** Topics one client may be subscribed to at once; more get `too_many_subscriptions`. Default 1000. */
  maxSubscriptionsPerClient?: number;
}

export type ResolvedLifelineOptions = Required<Omit<LifelineModuleOptions, keyof LifelineLimitOptions>> &
  Required<LifelineLimitOptions>;
