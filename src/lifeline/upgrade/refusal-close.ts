import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Refusal } from './upgrade-gate.service';

/**
 * Refusals a browser can read.
 *
 * A browser's WebSocket reports every HTTP refusal of the upgrade as close
 * 1006 with no status, body or header: a page cannot tell a bad token from a
 * full server. A client that asks with `?refusal=close` (the SDK always
 * does) gets the upgrade completed and closed at once with
 * `4000 + the HTTP status` and a reason: 4401 `unauthorized; …`,
 * 4403 `forbidden_origin; …`, 4503 `capacity; retry after 5 s`, 4404, 4400.
 * Without the parameter nothing changes (HTTP status + JSON body).
 *
 * An opt-in rather than the `Origin` header: non-browser clients may send
 * an Origin too, and existing clients keep the HTTP answers they rely on.
 * The refused socket never reaches the gateway or the registry; the gate has
 * already counted and logged the refusal.
 */
export const REFUSAL_PARAM = 'refusal';
export const REFUSAL_CLOSE = 'close';

/** Application close code for a refusal with this HTTP status (4401, 4403, 4503, …). */
export function refusalCloseCode(status: number): number {
  return status >= 400 && status <= 599 ? 4000 + status : 4500;
}

/** Close reasons are at most 123 bytes. */
const MAX_REASON_BYTES = 123;

/**
 * `<reason>; <detail>`: the machine-readable rejection reason first, then the
 * retry hint (`retry after 5 s`, from Retry-After) or the message.
 */
export function refusalCloseReason(refusal: Refusal): string {
  const retryAfter = refusal.headers?.['Retry-After'];
  const detail = retryAfter !== undefined ? `retry after ${retryAfter} s` : refusal.message;
  let reason = `${refusal.reason}; ${detail}`;
  while (Buffer.byteLength(reason) > MAX_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}

/** True when the upgrade request asked for close-code refusals. */
export function wantsCloseRefusal(request: IncomingMessage): boolean {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  if (query < 0) return false;
  return new URLSearchParams(url.slice(query + 1)).get(REFUSAL_PARAM) === REFUSAL_CLOSE;
}

/** One bare server for all refusals: no path, no tracking, tiny frames. */
let refusals: WebSocketServer | undefined;

/**
 * How long a refused peer has to answer the close frame. ws would wait 30 s;
 * refusals come in floods exactly when the server is short of sockets
 * (capacity), so a peer that does not answer promptly is cut.
 */
export const REFUSAL_CLOSE_GRACE_MS = 1000;

/**
 * Completes the upgrade and closes with the refusal's code (an invalid
 * handshake gets ws's own HTTP 400 instead).
 */
export function closeWithRefusal(request: IncomingMessage, socket: Duplex, head: Buffer, refusal: Refusal): void {
  refusals ??= new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: 1024 });
  refusals.handleUpgrade(request, socket, head, (ws) => {
    ws.on('error', () => undefined);
    ws.close(refusalCloseCode(refusal.status), refusalCloseReason(refusal));
    const cut = setTimeout(() => ws.terminate(), REFUSAL_CLOSE_GRACE_MS).unref();
    ws.once('close', () => clearTimeout(cut));
  });
}
