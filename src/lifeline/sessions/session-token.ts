import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A session token: `<session id>.<secret>`, the secret 192 random bits. The
 * id part only routes the lookup; the store keeps 128 bits of a SHA-256 of
 * the whole token, compared in constant time. Tokens are never logged.
 */
export function newToken(sessionId: string): string {
  return `${sessionId}.${randomBytes(24).toString('base64url')}`;
}

/** The first 128 bits of the token's SHA-256, base64url (22 characters: a session costs less memory). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');
}

/** The session id a token names, or undefined for a malformed token. */
export function sessionIdOf(token: string): string | undefined {
  const dot = token.lastIndexOf('.');
  return dot > 0 ? token.slice(0, dot) : undefined;
}

export function sameHash(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
