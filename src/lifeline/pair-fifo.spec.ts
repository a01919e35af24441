import { PairFifo } from './pair-fifo';

describe('PairFifo', () => {
  it('hands pairs out oldest first and reports false when empty', () => {
    const fifo = new PairFifo<string, number>();
    expect(fifo.shift(() => undefined)).toBe(false);
    expect(fifo.peekSecond()).toBeUndefined();
    fifo.push('a', 1);
    fifo.push('b', 2);
    expect(fifo.peekSecond()).toBe(1);
    const out: string[] = [];
    expect(fifo.shift((a, b) => out.push(`${a}${b}`))).toBe(true);
    expect(fifo.length).toBe(1);
    fifo.push('c', 3); // pushed while part is consumed
    while (fifo.shift((a, b) => out.push(`${a}${b}`)));
    expect(out).toEqual(['a1', 'b2', 'c3']);
    expect(fifo.length).toBe(0);
  });

  it('keeps order and length across the compaction of a long consumed prefix, and accepts pushes from take', () => {
    const fifo = new PairFifo<number, number>();
    for (let i = 0; i < 3000; i++) fifo.push(i, -i);
    const out: number[] = [];
    for (let i = 0; i < 2000; i++) fifo.shift((a) => out.push(a));
    expect(fifo.length).toBe(1000);
    expect(fifo.peekSecond()).toBe(-2000);
    // A taker that queues more behind (a handler admitting a client's next frame).
    fifo.shift((a) => {
      out.push(a);
      fifo.push(9999, 0);
    });
    while (fifo.shift((a) => out.push(a)));
    expect(out).toEqual([...Array.from({ length: 3000 }, (_, i) => i), 9999]);
  });

  it('lets go of what it handed out', () => {
    const fifo = new PairFifo<object, object>();
    const first = {};
    fifo.push(first, {});
    fifo.push({}, {});
    fifo.shift(() => undefined);
    // The consumed slot no longer holds the object (nothing retains a departed client's frame).
    const slots = (fifo as unknown as { firsts: unknown[] }).firsts;
    expect(slots.includes(first)).toBe(false);
  });
});
