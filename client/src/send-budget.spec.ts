import { DEFAULT_SEND_RATE, SendBudget } from './send-budget';

describe('SendBudget (client-side pacing under the server rate limit)', () => {
  let now = 0;
  const clock = () => now;

  it('defaults to the server defaults (50/s, burst 100) and keeps a reserve: half the burst, 90 % of the rate', () => {
    expect(DEFAULT_SEND_RATE).toEqual({ perSecond: 50, burst: 100 });
    const b = new SendBudget(undefined, clock);
    for (let i = 0; i < 50; i++) expect(b.take()).toBe(0);
    expect(b.take()).toBe(23); // one token every 1000 / 45 ms
  });

  it('refills at the rate up to the burst', () => {
    now = 0;
    const b = new SendBudget({ perSecond: 10, burst: 6 }, clock);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([0, 0, 0, 112]);
    now += 112;
    expect(b.take()).toBe(0);
    now += 10_000;
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([0, 0, 0, 112]);
  });

  it('control frames go anyway and delay the publishes after them; drain() starts from empty; refill() from full', () => {
    now = 0;
    const b = new SendBudget({ perSecond: 10, burst: 4 }, clock);
    b.spend();
    b.spend();
    b.spend();
    expect(b.take()).toBe(223); // one token in debt: two tokens to wait for
    b.refill();
    expect(b.take()).toBe(0);
    b.drain();
    expect(b.take()).toBe(112);
  });

  it('false: no pacing', () => {
    const b = new SendBudget(false, clock);
    for (let i = 0; i < 10_000; i++) expect(b.take()).toBe(0);
    expect(() => new SendBudget({ perSecond: 0, burst: 1 })).toThrow(RangeError);
  });
});
