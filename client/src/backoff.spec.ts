import { Backoff, DEFAULT_BACKOFF } from './backoff';

describe('Backoff (full jitter)', () => {
  it('defaults: base 500 ms, cap 15 s, reset after 10 s', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, capMs: 15_000, resetAfterMs: 10_000 });
    const b = new Backoff();
    expect([b.baseMs, b.capMs, b.resetAfterMs]).toEqual([500, 15_000, 10_000]);
  });

  it('attempt n waits uniformly in [0, min(cap, base * 2^n)): windows double up to the cap', () => {
    const top = new Backoff({}, () => 0.999999);
    const windows = Array.from({ length: 8 }, () => {
      const w = top.window();
      const delay = top.next();
      expect(delay).toBeLessThan(w);
      expect(delay).toBeGreaterThanOrEqual(w - 1);
      return w;
    });
    expect(windows).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    const bottom = new Backoff({}, () => 0);
    expect([bottom.next(), bottom.next(), bottom.next()]).toEqual([0, 0, 0]);
  });

  it('is actually random: 1,000 first delays spread over the whole first window', () => {
    const b = new Backoff();
    const delays = Array.from({ length: 1000 }, () => {
      const d = b.next();
      b.reset();
      return d;
    });
    expect(Math.min(...delays)).toBeLessThan(50);
    expect(Math.max(...delays)).toBeGreaterThan(450);
    const mean = delays.reduce((a, d) => a + d, 0) / delays.length;
    expect(mean).toBeGreaterThan(200);
    expect(mean).toBeLessThan(300);
  });

  it('a server hint is a floor with the jitter on top, and still counts as an attempt', () => {
    const b = new Backoff({}, () => 0.5);
    expect(b.next(5000)).toBe(5250);
    expect(b.attempts).toBe(1);
    expect(b.next(5000)).toBe(5500);
  });

  it('reset() starts over; options are configurable and checked', () => {
    const b = new Backoff({ baseMs: 100, capMs: 300 }, () => 0.999);
    b.next();
    b.next();
    b.next();
    expect(b.window()).toBe(300);
    b.reset();
    expect(b.window()).toBe(100);
    expect(() => new Backoff({ baseMs: -1 })).toThrow(/baseMs/);
    expect(() => new Backoff({ baseMs: 1000, capMs: 10 })).toThrow(/capMs/);
    expect(() => new Backoff({ resetAfterMs: Number.NaN })).toThrow(/resetAfterMs/);
  });
});
