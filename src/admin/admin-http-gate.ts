import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

/** Paths of the operator API (and its docs), as the gate sees them. */
const API_PATH = /^\/(clients|topics|presence)(\/|\?|$)/;
const DOCS_PATH = /^\/docs(-json|-yaml)?(\/|\?|$)/;

const digest = (value: string) => createHash('sha256').update(value).digest();

export interface AdminGateOptions {
  /** ADMIN_TOKEN; unset = the API answers only to loopback clients. */
  adminToken: string | undefined;
  /** How long a request body may take to arrive, in ms (HTTP_BODY_TIMEOUT_MS). */
  bodyTimeoutMs: number;
}

/** Whether an address is this machine: 127.0.0.0/8, ::1, or either mapped. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

type Next = (err?: unknown) => void;

/**
 * Express middleware that runs BEFORE the body parser, so the operator API
 * answers an unauthorised request without reading its body (a stalled 1 MiB
 * body per request could otherwise hold memory for as long as the client
 * likes):
 * - with ADMIN_TOKEN: `Authorization: Bearer <token>` or 401;
 * - without: loopback clients only, 403 otherwise (safe default: the API
 *   lists, kicks and publishes). /docs follows the same loopback rule; with
 *   a token set it is readable (it describes, it cannot act).
 * A refusal closes the connection (`Connection: close`): the unread body is
 * never read. An accepted request with a body must deliver it within
 * `bodyTimeoutMs`, or gets 408 and the connection is closed.
 * AdminTokenGuard still checks the token on every route, behind this.
 */
export function adminHttpGate(options: AdminGateOptions): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const expected = options.adminToken === undefined ? undefined : digest(options.adminToken);
  return (req, res, next) => {
    const url = req.url ?? '/';
    const api = API_PATH.test(url);
    if (!api && !DOCS_PATH.test(url)) return next();
    if (expected === undefined) {
      if (!isLoopback(req.socket.remoteAddress)) {
        return refuse(res, 403, 'Forbidden', 'the operator API answers only on loopback while ADMIN_TOKEN is unset; set ADMIN_TOKEN to serve it to other addresses');
      }
    } else if (api) {
      const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      // Digests of equal length, so the comparison time says nothing about the token.
      if (!match || !timingSafeEqual(digest(match[1]), expected)) {
        return refuse(res, 401, 'Unauthorized', 'a valid admin bearer token is required');
      }
    }
    if (hasBody(req)) limitBodyTime(req, res, options.bodyTimeoutMs);
    next();
  };
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** 408 and a closed connection if the body is not complete in time. */
function limitBodyTime(req: IncomingMessage, res: ServerResponse, timeoutMs: number): void {
  const timer = setTimeout(() => {
    if (req.complete) return;
    if (!res.headersSent) {
      refuse(res, 408, 'Request Timeout', `the request body did not arrive within ${timeoutMs} ms`);
    } else {
      req.socket.destroy();
    }
  }, timeoutMs);
  const clear = () => clearTimeout(timer);
  req.once('end', clear);
  res.once('close', clear);
}

function refuse(res: ServerResponse, statusCode: number, error: string, message: string): void {
  const body = JSON.stringify({ statusCode, message, error });
  // The body (if any) is never read: close the connection rather than drain it.
  res.shouldKeepAlive = false;
  res.writeHead(statusCode, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body, () => res.socket?.destroy());
}
