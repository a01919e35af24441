export interface LifelineModuleOptions {
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
   * loop, in ms. Default 2.
   */
  sweepSliceMs?: number;
}

export type ResolvedLifelineOptions = Required<LifelineModuleOptions>;
