import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';

/**
 * A session token: `<session id>.<secret>`, the secret 192 random bits. The
 * id part only routes the lookup; the store keeps 128 bits of a SHA-256 of
 * the whole token, compared in constant time. Tokens are never logged.
 */
export function newToken(sessionId: string): string {
  return `${sessionId}.${secretBytes(24).toString('base64url')}`;
}

/**
 * The CSPRNG drawn 4 KB at a time, as crypto.randomUUID() caches its
 * entropy: randomBytes(24) per connection was ~7% of a connect → drop
 * cycle's CPU (a job object and a native call each). Each byte is handed out once.
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let poolOffset = POOL_SIZE;

function secretBytes(n: number): Buffer {
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return bytes;
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
