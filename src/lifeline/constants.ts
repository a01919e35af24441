/** Options with defaults applied and checked. */
export const LIFELINE_OPTIONS = Symbol('LIFELINE_OPTIONS');
/** The gateway instance whose enhancers wrap lifecycle calls. */
export const LIFECYCLE_HOST = Symbol('LIFECYCLE_HOST');
/** Name of the heartbeat interval in @nestjs/schedule's SchedulerRegistry. */
export const HEARTBEAT_INTERVAL_NAME = 'lifeline:heartbeat';
/** Name of the pong-deadline check that follows each sweep. */
export const HEARTBEAT_DEADLINE_NAME = 'lifeline:heartbeat-deadline';

export const DEFAULT_OPTIONS = {
  path: '/ws',
  heartbeatIntervalMs: 25_000,
  heartbeatTimeoutMs: 10_000,
  cleanupStepTimeoutMs: 5_000,
  shutdownGraceMs: 10_000,
  sweepSliceMs: 2,
} as const;

/** Close code and reason sent to clients when the server goes down. */
export const CLOSE_GOING_AWAY = 1001;
export const SHUTDOWN_CLOSE_REASON = 'server shutting down';
