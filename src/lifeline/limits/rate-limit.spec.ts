import type { ClientRecord } from '../interfaces/client-record.interface';
import { type RateDecision, takeToken } from './rate-limit';

/** The token bucket as it was written before (tokens and refill time): the reference. */
class ReferenceBucket {
  private tokens: number;
  private refilledAt = 0;
  private strikes = 0;

  constructor(private readonly limit: { perSecond: number; burst: number }) {
    this.tokens = limit.burst;
  }

  take(now: number): RateDecision {
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.limit.perSecond);
    this.refilledAt = now;
    // Float drift of the refills (0.9999999999 for 1) is not a refusal.
    if (this.tokens >= 1 - 1e-9) {
      this.tokens -= 1;
      this.strikes = 0;
      return 'ok';
    }
    this.strikes++;
    return this.strikes > this.limit.burst ? 'flooding' : 'limited';
  }
}

const freshRecord = () => ({ rateFullAt: 0, rateStrikes: 0 }) as ClientRecord;

describe('takeToken', () => {
  it('a full bucket lets a burst through, then one per token interval; refusals in a row beyond a burst are flooding', () => {
    const limit = { perSecond: 10, burst: 3 };
    const record = freshRecord();
    const at = (now: number) => takeToken(record, limit, now);
    expect([at(1000), at(1000), at(1000), at(1000)]).toEqual(['ok', 'ok', 'ok', 'limited']);
    // A whole burst at one fractional instant far from zero (the sums round): every token but none more.
    const late = freshRecord();
    const third = { perSecond: 3, burst: 5 };
    const burst = [1, 2, 3, 4, 5, 6].map(() => takeToken(late, third, 86_400_000.123456));
    expect(burst).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'limited']);
    expect(at(1099)).toBe('limited');
    expect(at(1100)).toBe('ok');
    expect([at(1100), at(1100), at(1100), at(1100)]).toEqual(['limited', 'limited', 'limited', 'flooding']);
    // Idle long enough, the bucket is full again, and no fuller than burst.
    expect([at(60_000), at(60_000), at(60_000), at(60_000)]).toEqual(['ok', 'ok', 'ok', 'limited']);
    expect(record.rateStrikes).toBe(1);
  });

  it('decides as the two-number bucket did, message for message (random arrivals)', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const limit of [
      { perSecond: 50, burst: 100 },
      { perSecond: 3, burst: 2 },
      { perSecond: 1000, burst: 1 },
    ]) {
      const record = freshRecord();
      const reference = new ReferenceBucket(limit);
      let now = 5;
      const got: RateDecision[] = [];
      const want: RateDecision[] = [];
      for (let i = 0; i < 5000; i++) {
        // Bursts of simultaneous messages and pauses of any length (fractional ms, as performance.now()
        // gives): an exact tie with a token's return, where float rounding could decide either way, is improbable.
        now += random() < 0.8 ? 0 : random() * (2000 / limit.perSecond);
        got.push(takeToken(record, limit, now));
        want.push(reference.take(now));
      }
      expect(got).toEqual(want);
      expect(got).toContain('ok');
      expect(got).toContain('limited');
    }
  });
});
