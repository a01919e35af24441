import { DeadlineFifo } from './deadline-fifo';

describe('DeadlineFifo', () => {
  it('hands over only the keys whose deadline passed, oldest first, and reports the next deadline', () => {
    const fifo = new DeadlineFifo();
    expect(fifo.next).toBe(Number.POSITIVE_INFINITY);
    fifo.push('a', 10);
    fifo.push('b', 20);
    fifo.push('c', 30);
    const due: string[] = [];
    fifo.drain(20, (key) => due.push(key));
    expect(due).toEqual(['a', 'b']);
    expect(fifo.length).toBe(1);
    expect(fifo.next).toBe(30);
    fifo.drain(29, (key) => due.push(key));
    expect(due).toEqual(['a', 'b']);
    fifo.drain(30, (key) => due.push(key));
    expect(due).toEqual(['a', 'b', 'c']);
    expect(fifo.length).toBe(0);
  });

  it('keeps order and length across the compaction of a long consumed prefix', () => {
    const fifo = new DeadlineFifo();
    for (let i = 0; i < 3000; i++) fifo.push(`k${i}`, i);
    const due: string[] = [];
    fifo.drain(1999, (key) => due.push(key));
    expect(due).toHaveLength(2000);
    expect(fifo.length).toBe(1000);
    expect(fifo.next).toBe(2000);
    fifo.push('late', 5000);
    fifo.drain(5000, (key) => due.push(key));
    expect(due.slice(-2)).toEqual(['k2999', 'late']);
    expect(fifo.length).toBe(0);
  });

  it('carries keys of any type (the memory presence store queues a scope and a member per grace)', () => {
    const fifo = new DeadlineFifo<{ scope: string; member: string }>();
    const first = { scope: '@users', member: 'u:ada' };
    fifo.push(first, 5);
    fifo.push({ scope: 'room', member: 'c:1' }, 6);
    const due: [{ scope: string; member: string }, number][] = [];
    fifo.drain(5, (key, deadline) => due.push([key, deadline]));
    expect(due).toEqual([[first, 5]]);
    expect(due[0][0]).toBe(first);
    expect(fifo.length).toBe(1);
  });
});
