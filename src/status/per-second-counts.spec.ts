import { PerSecondCounts } from './per-second-counts';

describe('PerSecondCounts', () => {
  const at = (second: number, ms = 0) => second * 1000 + ms;

  it('counts per second and key, and totals a second', () => {
    const counts = new PerSecondCounts(10);
    counts.add('a', at(100, 10));
    counts.add('a', at(100, 990));
    counts.add('b', at(100, 500));
    counts.add('a', at(101));
    expect(counts.total(100)).toBe(3);
    expect(counts.series(99, 101)).toEqual({ seconds: [99, 100, 101], series: { a: [0, 2, 1], b: [0, 1, 0] } });
  });

  it('forgets a second once the ring comes round to it again', () => {
    const counts = new PerSecondCounts(10);
    counts.add('a', at(100));
    counts.add('b', at(110)); // same slot, ten seconds on
    expect(counts.total(100)).toBe(0);
    expect(counts.series(110, 110)).toEqual({ seconds: [110], series: { a: [0], b: [1] } });
  });

  it('clips a series to the window and reads seconds it never saw as 0', () => {
    const counts = new PerSecondCounts(5);
    counts.add('a', at(50));
    const { seconds, series } = counts.series(0, 52);
    expect(seconds).toEqual([48, 49, 50, 51, 52]);
    expect(series.a).toEqual([0, 0, 1, 0, 0]);
  });
});
