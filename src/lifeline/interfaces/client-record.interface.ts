import type { WebSocket } from 'ws';

/** Releases one resource a module attached to a client. May be async. */
export type Disposer = () => void | Promise<void>;

export interface ClientResource {
  readonly name: string;
  readonly dispose: Disposer;
}

/**
 * One live client. The registry owns these records; other services read
 * them and change only the fields documented as theirs.
 */
export interface ClientRecord {
  readonly id: string;
  readonly socket: WebSocket;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly remoteAddress: string | undefined;
  readonly userAgent: string | undefined;
  /** Epoch milliseconds of the last pong (heartbeat's field). */
  lastPongAt: number | undefined;
  /** Round trip of the last answered protocol ping, in ms (heartbeat's field). */
  rttMs: number | undefined;
  /** performance.now() when the outstanding ping was sent (heartbeat's field). */
  pingSentAt: number | undefined;
  /** Close code seen on the socket's 'close' event, if it has closed. */
  closeCode: number | undefined;
  /** Set when the socket emitted 'error' before closing. */
  errored: boolean;
  /** Disposers in order of acquisition; released last-in first-out. */
  resources: ClientResource[] | undefined;
}

/** A read-only view for code outside the lifeline module. */
export type ClientInfo = Readonly<Omit<ClientRecord, 'resources' | 'socket'>>;
