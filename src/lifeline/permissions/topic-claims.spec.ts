import { claimsAllow, MAX_PATTERNS_PER_LIST, parseTopicClaims, TopicClaimsError } from './topic-claims';

describe('the JWT "topics" claim', () => {
  it('is absent when the token has none', () => {
    expect(parseTopicClaims(undefined)).toBeUndefined();
  });

  it('matches exact topics and prefixes ending in "*"', () => {
    const claims = parseTopicClaims({ subscribe: ['news', 'chat:*', 'team-7/*'], publish: ['chat:*'] });
    if (!claims) throw new Error('expected claims');
    const allowed = (action: 'subscribe' | 'publish', topic: string) => claimsAllow(claims, action, topic);
    expect(['news', 'chat:', 'chat:a', 'chat:a:b', 'team-7/x'].every((t) => allowed('subscribe', t))).toBe(true);
    expect(['new', 'newsy', 'chat', 'Chat:a', 'team-7', 'team-70/x', 'x'].some((t) => allowed('subscribe', t))).toBe(false);
    expect(allowed('publish', 'chat:a')).toBe(true);
    expect(allowed('publish', 'news')).toBe(false);
  });

  it('is the whole truth: a missing list allows nothing; "*" allows everything', () => {
    const readOnly = parseTopicClaims({ subscribe: ['*'] });
    if (!readOnly) throw new Error('expected claims');
    expect(claimsAllow(readOnly, 'subscribe', 'any/thing')).toBe(true);
    expect(claimsAllow(readOnly, 'publish', 'any/thing')).toBe(false);
    const none = parseTopicClaims({});
    if (!none) throw new Error('expected claims');
    expect(claimsAllow(none, 'subscribe', 'a') || claimsAllow(none, 'publish', 'a')).toBe(false);
  });

  it('is compiled once per distinct claim and shared', () => {
    expect(parseTopicClaims({ subscribe: ['same'] })).toBe(parseTopicClaims({ subscribe: ['same'] }));
  });

  it.each([
    [null, 'must be an object'],
    [['news'], 'must be an object'],
    ['news', 'must be an object'],
    [{ subscribe: 'news' }, 'subscribe must be an array of topic patterns'],
    [{ publish: [1] }, 'publish[0] must be a string of 1 to 256 characters'],
    [{ publish: [''] }, 'publish[0] must be a string of 1 to 256 characters'],
    [{ publish: ['x'.repeat(257)] }, 'publish[0] must be a string of 1 to 256 characters'],
    [{ subscribe: ['ok', 'a b'] }, 'subscribe[1] must not contain white space'],
    [{ subscribe: ['*a'] }, 'subscribe[0] "*a" may have "*" only at the end'],
    [{ subscribe: ['a**'] }, 'subscribe[0] "a**" may have "*" only at the end'],
    [{ read: ['a'] }, 'unknown key "read"'],
    [{ subscribe: Array.from({ length: MAX_PATTERNS_PER_LIST + 1 }, (_, i) => `t${i}`) }, 'at most 1000'],
  ])('refuses %j: %s', (raw, message) => {
    expect(() => parseTopicClaims(raw)).toThrow(TopicClaimsError);
    expect(() => parseTopicClaims(raw)).toThrow(message);
  });
});
