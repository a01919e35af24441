import type { DisconnectReason } from './interfaces/disconnect-reason';

/** Event names emitted through @nestjs/event-emitter. Listen with @OnEvent. */
export const LifelineEvents = {
  connected: 'lifeline.client.connected',
  disconnected: 'lifeline.client.disconnected',
  reaped: 'lifeline.client.reaped',
  swept: 'lifeline.heartbeat.swept',
  pingToClosed: 'lifeline.heartbeat.ping-to-closed',
  cleanupFailed: 'lifeline.cleanup.failed',
  upgradeRejected: 'lifeline.upgrade.rejected',
  rateLimited: 'lifeline.client.rate-limited',
  topicSubscribed: 'lifeline.topic.subscribed',
  topicUnsubscribed: 'lifeline.topic.unsubscribed',
  sessionResumed: 'lifeline.session.resumed',
  topicRefused: 'lifeline.topic.refused',
} as const;

export interface ClientConnectedEvent {
  clientId: string;
  remoteAddress: string | undefined;
  userAgent: string | undefined;
  connectedAt: number;
}

export interface ClientDisconnectedEvent {
  clientId: string;
  reason: DisconnectReason;
  /** How long the client was connected, in ms. */
  durationMs: number;
}

export interface ClientReapedEvent {
  clientId: string;
  reason: Extract<DisconnectReason, 'heartbeat_timeout' | 'stale_socket'>;
  /** For heartbeat_timeout: how long the ping had been outstanding. */
  waitedMs: number | undefined;
}

export interface SweepEvent {
  /** Wall time from first to last client, yields included. */
  durationMs: number;
  /** Longest stretch of sweep work without yielding to the event loop. */
  longestSliceMs: number;
  clients: number;
  pinged: number;
  reaped: number;
  failures: number;
  /**
   * Ping round trips (ms) measured since the previous sweep event; each
   * client's latest is also on its record (rttMs). A typed array: one
   * allocation per sweep, not a growing array of 20k numbers.
   */
  rttSamplesMs: Float64Array;
}

export interface CleanupFailedEvent {
  clientId: string;
  step: string;
  error: string;
}

/**
 * A client's subscription began (topicSubscribed) or ended (topicUnsubscribed:
 * an unsubscribe, or the release of the subscription when the client left).
 * Emitted once per change; a repeated subscribe is not a change.
 */
export interface TopicSubscriptionEvent {
  clientId: string;
  topic: string;
}

/** Why an upgrade request was refused before it reached the gateway. */
export type RejectionReason =
  | 'not_found'
  | 'bad_request'
  | 'shutting_down'
  | 'capacity'
  | 'forbidden_origin'
  | 'unauthorized'
  | 'forbidden'
  /** The TCP connection did not complete an upgrade (or any request) in time. */
  | 'handshake_timeout';

export interface UpgradeRejectedEvent {
  reason: RejectionReason;
  status: number;
  remoteAddress: string | undefined;
}

/** How a resume ended: every topic recovered, some not, or refused (with the reason). */
export type ResumeResult = 'recovered' | 'partial' | 'unknown_session' | 'expired' | 'forbidden';

/**
 * A `resume` frame was answered. On success the connection `clientId` now
 * holds session `sessionId`, which `previousClientId` held before (presence
 * can re-key its member).
 */
export interface SessionResumedEvent {
  clientId: string;
  sessionId: string | null;
  result: ResumeResult;
  previousClientId: string | undefined;
  /** Messages replayed, all topics together. */
  replayed: number;
  durationMs: number;
}

export interface RateLimitedEvent {
  clientId: string;
}

/** Who refused a subscribe or publish. */
export type TopicRefusalSource =
  /** The token's `topics` claim. */
  | 'claims'
  /** The app's TopicPolicy said false. */
  | 'policy'
  /** Nobody decided and TOPIC_POLICY is closed. */
  | 'default'
  /** Another guard on the gateway (returned false or threw a 401/403). */
  | 'guard'
  /** The TopicPolicy threw, rejected or answered something other than a boolean. */
  | 'policy_error'
  /** The TopicPolicy did not answer within TOPIC_POLICY_TIMEOUT_MS. */
  | 'policy_timeout';

/** A client was refused a subscribe or publish (lifeline_topic_refusals_total{action}). */
export interface TopicRefusedEvent {
  clientId: string;
  action: 'subscribe' | 'publish';
  topic: string;
  by: TopicRefusalSource;
}
