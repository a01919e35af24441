import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth';

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings, for strings and bytes alike', () => {
    const at = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    for (const make of [(s: string) => s, (s: string) => Buffer.from(s)]) {
      expect(nestsDeeperThan(make(at(MAX_JSON_DEPTH)))).toBe(false);
      expect(nestsDeeperThan(make(at(MAX_JSON_DEPTH + 1)))).toBe(true);
      expect(nestsDeeperThan(make(`{"a":${at(3)}}`), 3)).toBe(true);
      expect(nestsDeeperThan(make(`{"a":"${'['.repeat(100)}\\"["}`), 1)).toBe(false);
      expect(nestsDeeperThan(make('{"é":["ü",{"x":[]}]}'), 4)).toBe(false);
      expect(nestsDeeperThan(make('{"é":["ü",{"x":[]}]}'), 3)).toBe(true);
    }
  });

  it('scans a 400,000-deep array without recursion', () => {
    expect(nestsDeeperThan('['.repeat(400_000))).toBe(true);
  });
});
