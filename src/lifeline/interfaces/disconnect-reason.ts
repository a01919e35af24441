/**
 * Why a client left. One closed set shared by logs, metrics and events.
 */
export const DISCONNECT_REASONS = [
  /** The peer sent a close frame. */
  'client_close',
  /** The TCP connection went away without a close frame (code 1006). */
  'connection_lost',
  /** The socket reported a protocol or I/O error. */
  'socket_error',
  /** A ping went unanswered past the pong deadline. */
  'heartbeat_timeout',
  /** The registry still held the client but its socket was no longer OPEN. */
  'stale_socket',
  /** The server is shutting down. */
  'server_shutdown',
  /** A frame larger than the payload limit (close 1009). */
  'payload_too_large',
  /** A text frame that was not valid UTF-8 (close 1007). */
  'invalid_utf8',
  /** A binary frame while binary frames are off (close 1003). */
  'unsupported_data',
  /** An operator removed the client. */
  'kicked',
  /** The client kept sending faster than its rate limit. */
  'rate_limited',
  /** The client stopped reading while its send buffer stayed full. */
  'slow_consumer',
  /** Cluster mode: the node holding the client stopped renewing its lease. */
  'node_lost',
  /** The client's session was resumed on a new connection while this one was still registered (a half-open peer). */
  'resumed',
  /**
   * A message in more than 16,384 fragments (or 262,144 buffered chunks),
   * ws's bounds on what one message may cost to reassemble (close 1008).
   */
  'too_many_fragments',
  /** A frame that breaks RFC 6455: bad opcode, unmasked, RSV bits, bad close code… (close 1002). */
  'protocol_error',
  /** The JWT's `exp` passed while the connection was open (close 4001). */
  'token_expired',
] as const;

export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];
