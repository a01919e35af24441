/**
 * Characters the WHATWG URL parser copies into a path unchanged: RFC 3986's
 * pchar and '/', without '%' (also copied as-is, but left to URL). The
 * request-path spec checks each of them against URL.
 */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

const SLASH = 0x2f;

/**
 * The pathname `new URL(target, base)` gives for the common request target,
 * without parsing a URL: a path of plain characters, then maybe '?' and a
 * query (which cannot change the path). Undefined whenever URL could give
 * something else: a target not starting with a single '/' ('//ws' names a
 * host), a '/.' (dot segments are resolved), '%', '\\', '#', spaces or
 * anything URL would encode or strip.
 */
export function plainPathname(target: string): string | undefined {
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  if (path.charCodeAt(0) !== SLASH || path.charCodeAt(1) === SLASH) return undefined;
  if (path.includes('/.') || !PLAIN_PATH.test(path)) return undefined;
  return path;
}

/**
 * The path an upgrade request asks for, as `new URL` reads it; throws, as URL
 * does, on a target it cannot parse. Most targets take the plain path, which
 * is a measurable part of a handshake's cost when URL does it.
 */
export function requestPathname(target: string | undefined): string {
  const plain = target === undefined ? undefined : plainPathname(target);
  // A fixed base: the Host header is client input and may not parse.
  return plain ?? new URL(target ?? '/', 'ws://localhost').pathname;
}
