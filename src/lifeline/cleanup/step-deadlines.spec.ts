import { setTimeout as sleep } from 'node:timers/promises';
import { StepDeadlines } from './step-deadlines';

describe('StepDeadlines', () => {
  it('fires only live deadlines that are due, in order; settled ones never fire', () => {
    const d = new StepDeadlines(100);
    const fired: string[] = [];
    const a = d.arm(() => fired.push('a'), 0);
    d.arm(() => fired.push('b'), 10);
    d.arm(() => fired.push('c'), 50);
    a.settle();
    d.expire(105); // only b is due (110 ≈ 105 + 1 is not)
    expect(fired).toEqual([]);
    d.expire(110);
    expect(fired).toEqual(['b']);
    d.expire(151);
    expect(fired).toEqual(['b', 'c']);
    expect(d.size).toBe(0);
    expect(d.armed).toBe(false);
  });

  it('holds no timer once every step has settled, and one timer for many steps', () => {
    const d = new StepDeadlines(5_000);
    const steps = Array.from({ length: 1000 }, () => d.arm(() => undefined));
    expect(d.armed).toBe(true);
    for (const s of steps) s.settle();
    expect(d.size).toBe(0);
    expect(d.armed).toBe(false);
  });

  it('drops a settled head and still fires the next one on time (real timer)', async () => {
    const d = new StepDeadlines(40);
    const first = d.arm(() => undefined);
    let firedAt = 0;
    const start = performance.now();
    await sleep(15);
    d.arm(() => (firedAt = performance.now()));
    first.settle();
    await sleep(120);
    expect(firedAt - start).toBeGreaterThanOrEqual(15 + 40 - 2);
    expect(d.armed).toBe(false);
  });

  it('compacts the queue when settled entries pile up behind a live head', () => {
    const d = new StepDeadlines(1_000);
    const hung = d.arm(() => undefined, 0);
    const rest = Array.from({ length: 3000 }, (_, i) => d.arm(() => undefined, i / 10));
    for (const s of rest) s.settle();
    expect(d.size).toBe(3001); // nothing can leave past the live head
    hung.settle();
    expect(d.size).toBe(0);
    expect(d.armed).toBe(false);
  });
});
