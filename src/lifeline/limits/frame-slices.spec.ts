import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { FrameSlices } from './frame-slices';

/** A clock the test moves; every read can also advance it (a frame "costs" time). */
function manualClock(): { now: () => number; advance: (ms: number) => void; costPerRead: number } {
  let t = 0;
  const clock = {
    costPerRead: 0,
    now: () => (t += clock.costPerRead),
    advance: (ms: number) => {
      t += ms;
    },
  };
  return clock;
}

const fail = (err: unknown): never => {
  throw err;
};

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}

describe('FrameSlices', () => {
  it('runs frames at once while the turn is within its slice', async () => {
    const clock = manualClock();
    const ran: string[] = [];
    const slices = new FrameSlices<string, string>((c, f) => ran.push(`${c}:${f}`), fail, 5, clock.now);
    expect(slices.admit('a', '1')).toBe(true);
    clock.advance(4);
    expect(slices.admit('b', '1')).toBe(true);
    expect(slices.waiting).toBe(0);
    await turns(1);
    expect(ran).toEqual([]); // admitted frames are the caller's to run
  });

  it('queues frames past the slice, keeps arrival order, and runs them in later turns', async () => {
    const clock = manualClock();
    const ran: string[] = [];
    const slices = new FrameSlices<string, string>((c, f) => ran.push(`${c}:${f}`), fail, 5, clock.now);
    expect(slices.admit('a', '1')).toBe(true);
    clock.advance(6);
    expect(slices.admit('b', '1')).toBe(false);
    // Behind a waiting frame, even a new turn's frame waits (order is kept).
    expect(slices.admit('c', '1')).toBe(false);
    expect(slices.waiting).toBe(2);
    expect(ran).toEqual([]);
    await turns(3);
    expect(ran).toEqual(['b:1', 'c:1']);
    expect(slices.waiting).toBe(0);
    // Drained: the next turn starts a fresh slice.
    await turns(1);
    expect(slices.admit('d', '1')).toBe(true);
  });

  it('lets timers run between slices of a long backlog', async () => {
    // Real clock: each frame spins 0.2 ms; a 2 ms slice holds about 10.
    const ran: number[] = [];
    const slices = new FrameSlices<number, string>(
      (c) => {
        const until = performance.now() + 0.2;
        while (performance.now() < until);
        ran.push(c);
      },
      fail,
      2,
    );
    slices.admit(0, 'x');
    const start = performance.now();
    while (performance.now() - start < 3); // this turn is over its slice
    for (let i = 1; i <= 100; i++) expect(slices.admit(i, 'x')).toBe(false);
    let timerFiredAfter = -1;
    setTimeout(() => {
      timerFiredAfter = ran.length;
    }, 1);
    await new Promise<void>((resolve) => {
      const check = () => (slices.waiting === 0 ? resolve() : setTimeout(check, 1));
      check();
    });
    expect(ran).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(timerFiredAfter).toBeGreaterThanOrEqual(0);
    expect(timerFiredAfter).toBeLessThan(100); // it fired while frames were still waiting
  });

  it('shrinks the frames per slice when their continuations cost more than the slice', async () => {
    const clock = manualClock();
    const slices = new FrameSlices<number, string>(
      () => {
        // The synchronous part is free; the continuation costs 1 ms per frame.
        void Promise.resolve().then(() => clock.advance(1));
      },
      fail,
      5,
      clock.now,
    );
    slices.admit(0, 'x');
    clock.advance(10);
    for (let i = 1; i <= 300; i++) slices.admit(i, 'x');
    expect(slices.framesPerSlice).toBe(64);
    await turns(1);
    // 64 frames cost 64 ms with their continuations: about 5 fit in 5 ms.
    expect(slices.framesPerSlice).toBe(5);
    expect(slices.waiting).toBe(300 - 64);
  });

  it('reports a frame that throws and keeps draining', async () => {
    const clock = manualClock();
    const ran: number[] = [];
    const errors: unknown[] = [];
    const slices = new FrameSlices<number, string>(
      (c) => {
        ran.push(c);
        if (c === 1) throw new Error('handler bug');
      },
      (err) => errors.push(err),
      5,
      clock.now,
    );
    slices.admit(0, 'x');
    clock.advance(10);
    slices.admit(1, 'x');
    slices.admit(2, 'x');
    await turns(3);
    expect(ran).toEqual([1, 2]);
    expect(errors).toEqual([new Error('handler bug')]);
    expect(slices.waiting).toBe(0);
  });
});
