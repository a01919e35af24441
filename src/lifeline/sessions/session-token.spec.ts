import { hashToken, newToken, sameHash, sessionIdOf } from './session-token';

describe('session tokens', () => {
  it('are <id>.<192 random bits>, never repeat across pool refills, and hash to 22 characters', () => {
    const secrets = new Set<string>();
    // 24 bytes each from a 4 KB pool: 1,000 tokens refill it several times.
    for (let i = 0; i < 1000; i++) {
      const token = newToken('s1');
      expect(sessionIdOf(token)).toBe('s1');
      const secret = token.slice(3);
      expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
      secrets.add(secret);
    }
    expect(secrets.size).toBe(1000);
    const token = newToken('s2');
    expect(hashToken(token)).toHaveLength(22);
    expect(sameHash(hashToken(token), hashToken(token))).toBe(true);
    expect(sameHash(hashToken(token), hashToken(newToken('s2')))).toBe(false);
  });
});
