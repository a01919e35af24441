/** Why something failed; stable strings an app can switch on. */
export type LifelineErrorCode =
  /** The server refused the token (close 4401), or there was none. Terminal unless a token function can renew it. */
  | 'unauthorized'
  /** Origin or a connection guard refused (close 4403). Terminal. */
  | 'forbidden'
  /** The JWT expired on an open connection (close 4001). Terminal when the token cannot be renewed. */
  | 'token_expired'
  /** An operator removed this client (close 1008 `kicked`). Terminal. */
  | 'kicked'
  /** Server at capacity or shutting down (close 4503); the client retries when the server says. */
  | 'unavailable'
  /** No WebSocket endpoint at this URL's path (close 4404). Terminal. */
  | 'not_found'
  /** The server refused the request or a frame as malformed. */
  | 'bad_request'
  /** The server reported rate limiting; unacknowledged publishes are re-sent after a pause. */
  | 'rate_limited'
  /** A publish larger than the server accepts (close 1009); that publish is rejected. */
  | 'payload_too_large'
  /** The server closed for a reason the SDK cannot recover from (1003, 1007, other 1008 or 44xx). Terminal. */
  | 'protocol_error'
  /** No frame from the server within the heartbeat deadline: the connection is treated as dead. */
  | 'heartbeat_timeout'
  /** A connection attempt did not complete (open + welcome) in time. */
  | 'connect_timeout'
  /** The token function threw or rejected; retried with backoff. */
  | 'token_error'
  /** The outgoing publish queue is full (count or bytes). */
  | 'queue_full'
  /** The client is closed; pending publishes and ready() reject with it. */
  | 'closed'
  /** An argument the server would refuse anyway (topic format, data not JSON). */
  | 'invalid_argument'
  /** No WebSocket implementation: pass `WebSocket` in the options, or install `ws` in Node. */
  | 'no_websocket'
  /** An error frame from the server with another code (`internal_error`, `forbidden`, ...). */
  | 'server_error';

export class LifelineError extends Error {
  override readonly name = 'LifelineError';

  constructor(
    readonly code: LifelineErrorCode,
    message: string,
    /** Extra facts: the close code and reason, the server's error code, the topic. */
    readonly details: {
      closeCode?: number;
      closeReason?: string;
      serverCode?: string;
      topic?: string;
      retryAfterMs?: number;
    } = {},
  ) {
    super(message);
  }
}
