/** Options with defaults applied and checked. */
export const LIFELINE_OPTIONS = Symbol('LIFELINE_OPTIONS');
/** The gateway instance whose enhancers wrap lifecycle calls. */
export const LIFECYCLE_HOST = Symbol('LIFECYCLE_HOST');
/** Name of the heartbeat interval in @nestjs/schedule's SchedulerRegistry. */
export const HEARTBEAT_INTERVAL_NAME = 'lifeline:heartbeat';
/** Name of the pong-deadline timer, armed for the earliest outstanding ping. */
export const HEARTBEAT_DEADLINE_NAME = 'lifeline:heartbeat-deadline';

export const DEFAULT_OPTIONS = {
  path: '/ws',
  heartbeatIntervalMs: 25_000,
  heartbeatTimeoutMs: 10_000,
  cleanupStepTimeoutMs: 5_000,
  shutdownGraceMs: 10_000,
  sweepSliceMs: 1,
  sharedReadBuffer: true,
  maxPayloadBytes: 1024 * 1024,
  rateLimit: { perSecond: 50, burst: 100 },
  slowConsumer: { maxBufferedBytes: 4 * 1024 * 1024, graceMs: 10_000 },
  handshakeTimeoutMs: 10_000,
  allowBinary: false,
  sessionTtlMs: 120_000,
  history: { size: 1000, ttlMs: 120_000, maxBytes: 64 * 1024 * 1024, replayMaxMessages: 1000 },
  maxSubscriptionsPerClient: 1000,
  requireOrigin: false,
  presence: { graceMs: 5_000, batchMs: 1_000 },
  defaultTopicPolicy: 'open',
  topicPolicyTimeoutMs: 5_000,
} as const;

/** WebSocket close codes Lifeline sends (RFC 6455 section 7.4.1). */
export const CloseCodes = {
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
} as const;

/** Close reason sent with CloseCodes.goingAway when the server goes down. */
export const SHUTDOWN_CLOSE_REASON = 'server shutting down';
