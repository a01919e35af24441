import { plainPathname, requestPathname } from './request-path';

/** What routeUpgrade used to compute for every upgrade, and must still match. */
function urlPathname(target: string): string | Error {
  try {
    return new URL(target, 'ws://localhost').pathname;
  } catch (err) {
    return err as Error;
  }
}

function ours(target: string): string | Error {
  try {
    return requestPathname(target);
  } catch (err) {
    return err as Error;
  }
}

describe('request target → path', () => {
  it.each([
    // [target, pathname, taken without URL]
    ['/ws', '/ws', true],
    ['/ws?x=1', '/ws', true],
    ['/ws?access_token=a%20b#c', '/ws', true],
    ['/ws?', '/ws', true],
    ['/ws/', '/ws/', true],
    ['/WS', '/WS', true],
    ['/', '/', true],
    ['/a/b;c=d:e@f', '/a/b;c=d:e@f', true],
    ['/ws%2F', '/ws%2F', false],
    ['/./ws', '/ws', false],
    ['/ws/../ws', '/ws', false],
    ['/ws/.', '/ws/', false],
    ['/ws/%2e%2e/x', '/x', false],
    ['//ws', '/', false],
    ['//ws/ws', '/ws', false],
    ['/ws#a', '/ws', false],
    ['/ws\\x', '/ws/x', false],
    ['\\ws', '/ws', false],
    ['/w s', '/w%20s', false],
    ['/ws\t', '/ws', false],
    ['/w\ns', '/ws', false],
    ['/wé', '/w%C3%A9', false],
    ['/w{s}', '/w%7Bs%7D', false],
    ['/w"<>`s', '/w%22%3C%3E%60s', false],
    ['ws', '/ws', false],
    ['', '/', false],
    ['*', '/*', false],
    ['http://example.com/ws?x', '/ws', false],
  ])('%j → %j (fast path: %s)', (target, pathname, fast) => {
    expect(urlPathname(target)).toBe(pathname);
    expect(ours(target)).toBe(pathname);
    expect(plainPathname(target) !== undefined).toBe(fast);
  });

  it('refuses what URL refuses', () => {
    for (const target of ['//[::1', '//exa mple/ws', '//%zz/ws']) {
      // URL's TypeError comes from Node's realm, not jest's: no instanceof.
      expect(typeof urlPathname(target)).not.toBe('string');
      expect(plainPathname(target)).toBeUndefined();
      expect(() => requestPathname(target)).toThrow('Invalid URL');
    }
    expect(requestPathname(undefined)).toBe('/');
  });

  it('agrees with URL wherever it skips URL: every character, in every position that matters', () => {
    const chars = [...Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c)), '\u00a0', 'é', '\u2028', '\ud800', '😀'];
    const shapes = (c: string) => [
      `/${c}`,
      `/ws${c}`,
      `/ws/${c}`,
      `/${c}/ws`,
      `/${c}${c}`,
      `/.${c}`,
      `/${c}.`,
      `/ws?${c}`,
      `/ws${c}?x`,
      `${c}/ws`,
      `/${c}?${c}#${c}`,
    ];
    let fast = 0;
    for (const a of chars) {
      for (const target of shapes(a)) {
        const plain = plainPathname(target);
        if (plain === undefined) continue;
        fast++;
        expect([target, plain]).toEqual([target, urlPathname(target)]);
      }
    }
    // The fast path is taken for a good share of them, or this proves little.
    expect(fast).toBeGreaterThan(300);
  });
});
