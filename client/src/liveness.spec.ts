import { Liveness } from './liveness';

/**
 * The clock logic under jest's fake timers: a throttled tab is a timer that
 * wakes late, which fake timers can do exactly (move the clock, fire later).
 */
describe('Liveness (application heartbeat)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  function make(intervalMs = 1000, timeoutMs = 500) {
    const events = { pings: 0, dead: [] as number[] };
    const liveness = new Liveness(
      { intervalMs, timeoutMs },
      () => events.pings++,
      (silent) => events.dead.push(silent),
    );
    return { liveness, events };
  }

  it('pings after one interval of silence and declares the server dead timeout later: within interval + timeout', () => {
    const { liveness, events } = make();
    liveness.start();
    jest.advanceTimersByTime(999);
    expect(events.pings).toBe(0);
    jest.advanceTimersByTime(1);
    expect(events.pings).toBe(1);
    jest.advanceTimersByTime(499);
    expect(events.dead).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(events.dead).toEqual([1500]);
    // stopped: nothing more
    jest.advanceTimersByTime(10_000);
    expect([events.pings, events.dead.length]).toEqual([1, 1]);
  });

  it('any frame answers the ping; frames keep pushing the next ping back', () => {
    const { liveness, events } = make();
    liveness.start();
    jest.advanceTimersByTime(1000);
    expect(events.pings).toBe(1);
    jest.advanceTimersByTime(200);
    liveness.received(); // the pong
    jest.advanceTimersByTime(900);
    expect(events.pings).toBe(1); // 1,100 ms after the ping but only 900 since the pong
    liveness.received();
    jest.advanceTimersByTime(999);
    expect(events.pings).toBe(1);
    jest.advanceTimersByTime(1);
    expect(events.pings).toBe(2);
    expect(events.dead).toEqual([]);
  });

  it('a timer that wakes late (throttled tab) pings then, instead of calling a healthy connection dead', () => {
    const { liveness, events } = make();
    liveness.start();
    // The tab was throttled: a minute passes and only then does the timer run.
    jest.setSystemTime(Date.now() + 60_000);
    jest.advanceTimersByTime(1000);
    expect(events.dead).toEqual([]);
    expect(events.pings).toBe(1);
    liveness.received();
    jest.advanceTimersByTime(500);
    expect(events.dead).toEqual([]);
  });

  it('an unanswered ping whose deadline passed during throttling is caught as soon as the timer or a probe runs', () => {
    const { liveness, events } = make();
    liveness.start();
    jest.advanceTimersByTime(1000);
    expect(events.pings).toBe(1);
    jest.setSystemTime(Date.now() + 30_000); // asleep past the deadline
    liveness.probe(); // e.g. visibilitychange → visible
    expect(events.dead).toEqual([31_000]);
  });

  it('probe() pings at once when no ping is out, and not twice', () => {
    const { liveness, events } = make(60_000, 5000);
    liveness.start();
    jest.advanceTimersByTime(10);
    liveness.probe();
    liveness.probe();
    expect(events.pings).toBe(1);
    jest.advanceTimersByTime(5000);
    expect(events.dead).toEqual([5010]);
  });

  it('stop() leaves no timer', () => {
    const { liveness } = make();
    liveness.start();
    expect(jest.getTimerCount()).toBe(1);
    liveness.stop();
    expect(jest.getTimerCount()).toBe(0);
    liveness.probe();
    expect(jest.getTimerCount()).toBe(0);
  });
});
