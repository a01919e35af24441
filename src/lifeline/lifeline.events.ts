import type { DisconnectReason } from './interfaces/disconnect-reason';

/** Event names emitted through @nestjs/event-emitter. Listen with @OnEvent. */
export const LifelineEvents = {
  connected: 'lifeline.client.connected',
  disconnected: 'lifeline.client.disconnected',
  reaped: 'lifeline.client.reaped',
  pong: 'lifeline.heartbeat.pong',
  swept: 'lifeline.heartbeat.swept',
  pingToClosed: 'lifeline.heartbeat.ping-to-closed',
  cleanupFailed: 'lifeline.cleanup.failed',
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

export interface PongEvent {
  clientId: string;
  rttMs: number;
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
}

export interface CleanupFailedEvent {
  clientId: string;
  step: string;
  error: string;
}
