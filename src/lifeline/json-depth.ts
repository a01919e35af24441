/**
 * Deepest nesting of arrays and objects Lifeline accepts in a JSON frame or
 * HTTP body. Deeper input is refused (`bad_request` / HTTP 400) before it is
 * parsed: JSON.parse copes, but every recursive walk after it (zod,
 * JSON.stringify of a pong or a publish) overflows the stack on a 400,000-deep
 * array. 64 is far beyond any real message.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether JSON text (a string, or its UTF-8 bytes) nests deeper than `max`.
 * One linear scan, no allocation; brackets inside strings do not count.
 * Malformed text is left to the parser.
 */
export function nestsDeeperThan(text: string | Uint8Array, max = MAX_JSON_DEPTH): boolean {
  const length = text.length;
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
