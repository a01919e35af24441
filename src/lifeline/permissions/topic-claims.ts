import type { TopicClaims, TopicPatterns } from './interfaces/topic-claims.interface';
import type { TopicAction } from './interfaces/topic-policy.interface';

/** Patterns per list; a token is a header, but a list of 100k patterns would be a cost per match. */
export const MAX_PATTERNS_PER_LIST = 1000;
/** Distinct claims kept compiled; clients with the same claim share one object. */
const CACHE_SIZE = 1000;
const ACTIONS: readonly TopicAction[] = ['subscribe', 'publish'];

export class TopicClaimsError extends Error {
  constructor(detail: string) {
    super(`invalid "topics" claim: ${detail}`);
    this.name = 'TopicClaimsError';
  }
}

const cache = new Map<string, TopicClaims>();

/**
 * Compiles the JWT `topics` claim; undefined when the token has none. Throws
 * a TopicClaimsError naming the bad part: a claim that is present but
 * malformed refuses the upgrade rather than granting or denying by accident.
 *
 * A pattern is an exact topic, or a prefix followed by one `*` at the end
 * (`chat:*` matches `chat:` and everything after it; `*` alone matches every
 * topic). Unknown keys are refused, so a typo such as `publsh` cannot
 * silently deny publishing.
 */
export function parseTopicClaims(raw: unknown): TopicClaims | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TopicClaimsError('must be an object {"subscribe": [...], "publish": [...]}');
  }
  const key = JSON.stringify(raw);
  const cached = cache.get(key);
  if (cached) return cached;
  const record = raw as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!(ACTIONS as readonly string[]).includes(name)) {
      throw new TopicClaimsError(`unknown key "${name}" (expected "subscribe" and/or "publish")`);
    }
  }
  const claims: TopicClaims = {
    subscribe: compile(record.subscribe, 'subscribe'),
    publish: compile(record.publish, 'publish'),
  };
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(key, claims);
  return claims;
}

/** Whether the claims allow `action` on `topic`. */
export function claimsAllow(claims: TopicClaims, action: TopicAction, topic: string): boolean {
  return matches(claims[action], topic);
}

export function matches(patterns: TopicPatterns, topic: string): boolean {
  if (patterns.exact.has(topic)) return true;
  for (const prefix of patterns.prefixes) {
    if (topic.startsWith(prefix)) return true;
  }
  return false;
}

function compile(list: unknown, name: TopicAction): TopicPatterns {
  // Absent: this action is allowed on nothing (the claim is the whole truth).
  if (list === undefined) return { exact: new Set(), prefixes: [] };
  if (!Array.isArray(list)) throw new TopicClaimsError(`${name} must be an array of topic patterns`);
  if (list.length > MAX_PATTERNS_PER_LIST) {
    throw new TopicClaimsError(`${name} has ${list.length} patterns; at most ${MAX_PATTERNS_PER_LIST}`);
  }
  const exact = new Set<string>();
  const prefixes: string[] = [];
  list.forEach((pattern: unknown, i) => {
    const where = `${name}[${i}]`;
    if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > 256) {
      throw new TopicClaimsError(`${where} must be a string of 1 to 256 characters`);
    }
    if (/\s/.test(pattern)) throw new TopicClaimsError(`${where} must not contain white space`);
    const star = pattern.indexOf('*');
    if (star === -1) exact.add(pattern);
    else if (star === pattern.length - 1) prefixes.push(pattern.slice(0, -1));
    else throw new TopicClaimsError(`${where} ${JSON.stringify(pattern)} may have "*" only at the end`);
  });
  return { exact, prefixes };
}
