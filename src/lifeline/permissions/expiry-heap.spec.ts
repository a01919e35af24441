import { ExpiryHeap } from './expiry-heap';

function drain(heap: ExpiryHeap): [number, string][] {
  const out: [number, string][] = [];
  while (heap.size > 0) {
    out.push([heap.peekAt(), heap.peekId() as string]);
    heap.pop();
  }
  return out;
}

describe('ExpiryHeap', () => {
  it('gives deadlines back earliest first, whatever the order they came in', () => {
    const heap = new ExpiryHeap();
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const deadlines = Array.from({ length: 500 }, (_, i) => [Math.floor(random() * 1000), `c${i}`] as [number, string]);
    for (const [at, id] of deadlines) heap.push(at, id);
    const out = drain(heap);
    expect(out.map(([at]) => at)).toEqual(deadlines.map(([at]) => at).sort((a, b) => a - b));
    expect(new Set(out.map(([, id]) => id)).size).toBe(500);
    expect(heap.peekAt()).toBeNaN();
    heap.pop(); // empty: a no-op
    expect(heap.size).toBe(0);
  });

  it('retain() drops entries and keeps the order of the rest', () => {
    const heap = new ExpiryHeap();
    for (let i = 0; i < 100; i++) heap.push(100 - i, `c${i}`);
    heap.retain((_at, id) => Number(id.slice(1)) % 3 === 0);
    expect(heap.size).toBe(34);
    const out = drain(heap);
    expect(out[0]).toEqual([1, 'c99']);
    expect(out.map(([at]) => at)).toEqual([...out.map(([at]) => at)].sort((a, b) => a - b));
  });
});
