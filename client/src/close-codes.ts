import { LifelineError } from './errors';

/** What the client does after the connection closed with a given code. */
export type CloseAction =
  /** Reconnect with backoff, or after `retryAfterMs` when the server said so. */
  | { kind: 'retry'; error?: LifelineError; retryAfterMs?: number }
  /** The token expired: get a fresh one and resume at once, if a token function exists. */
  | { kind: 'renew'; error: LifelineError }
  /** Reconnecting cannot help: go to `closed` with this error. */
  | { kind: 'terminal'; error: LifelineError };

/** `…; retry after 5 s` in a close reason (4503), or the seconds of an HTTP Retry-After. */
export function retryHintMs(reason: string): number | undefined {
  const match = /retry after (\d+(?:\.\d+)?) ?s\b/i.exec(reason);
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

/**
 * Maps a close code (and its reason) to what the SDK does next. Close codes
 * 4000 + HTTP status are the server's refusals of the upgrade (sent instead
 * of an HTTP error, which a browser could not read: it only sees 1006).
 */
export function classifyClose(code: number, reason: string): CloseAction {
  const details = { closeCode: code, closeReason: reason };
  const said = reason ? `: ${reason}` : '';
  switch (code) {
    case 4401:
      return { kind: 'terminal', error: new LifelineError('unauthorized', `the server refused the token${said}`, details) };
    case 4403:
      return { kind: 'terminal', error: new LifelineError('forbidden', `the server refused this client${said}`, details) };
    case 4404:
      return { kind: 'terminal', error: new LifelineError('not_found', `no WebSocket endpoint at this URL${said}`, details) };
    case 4400:
      return { kind: 'terminal', error: new LifelineError('bad_request', `the server refused the request${said}`, details) };
    case 4001:
      return { kind: 'renew', error: new LifelineError('token_expired', `the token expired${said}`, details) };
    case 4503: {
      const retryAfterMs = retryHintMs(reason);
      const error = new LifelineError('unavailable', `the server is unavailable${said}`, { ...details, retryAfterMs });
      return { kind: 'retry', error, retryAfterMs };
    }
    case 1008:
      if (reason === 'kicked') {
        return { kind: 'terminal', error: new LifelineError('kicked', 'an operator removed this client', details) };
      }
      if (reason === 'rate_limited') {
        return { kind: 'retry', error: new LifelineError('rate_limited', 'closed for sending too fast', details) };
      }
      return { kind: 'terminal', error: new LifelineError('protocol_error', `closed by policy${said}`, details) };
    case 1009:
      return { kind: 'retry', error: new LifelineError('payload_too_large', 'a frame was larger than the server accepts', details) };
    case 1003:
    case 1007:
      return { kind: 'terminal', error: new LifelineError('protocol_error', `the server refused a frame (${code})${said}`, details) };
    default:
      break;
  }
  if (code >= 4400 && code < 4500) {
    // Other refusals of the request (4000 + an HTTP 4xx): only 408 and 429 are worth retrying.
    if (code === 4408 || code === 4429) {
      return { kind: 'retry', error: new LifelineError('unavailable', `the server asked to wait${said}`, details), retryAfterMs: retryHintMs(reason) };
    }
    return { kind: 'terminal', error: new LifelineError('protocol_error', `the server refused the connection (${code})${said}`, details) };
  }
  if (code >= 4500 && code < 4600) {
    return { kind: 'retry', error: new LifelineError('unavailable', `the server failed (${code})${said}`, details), retryAfterMs: retryHintMs(reason) };
  }
  // 1000, 1001 (restart), 1006 (lost), 1011-1014 and anything else: try again.
  return { kind: 'retry' };
}
