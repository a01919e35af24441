import { ClockColumn, type ClockSlot } from './clock-column';

const holder = (): ClockSlot => ({ clocks: new Float64Array(0), at: -1 });

describe('ClockColumn', () => {
  it('gives each holder its own fields, chunk after chunk', () => {
    const column = new ClockColumn(3);
    const holders = Array.from({ length: 2_100 }, () => {
      const h = holder();
      column.take(h);
      return h;
    });
    holders.forEach((h, i) => h.clocks.fill(i, h.at, h.at + 3));
    expect(new Set(holders.map((h) => h.clocks)).size).toBe(3);
    expect(holders.every((h, i) => h.clocks[h.at] === i && h.clocks[h.at + 2] === i)).toBe(true);
  });

  it('copies a leaving holder out before its slot is handed on, last freed first', () => {
    const column = new ClockColumn(2);
    const [a, b] = [holder(), holder()];
    column.take(a);
    column.take(b);
    a.clocks[a.at] = 1.5;
    a.clocks[a.at + 1] = Number.NaN;
    const slot = { clocks: a.clocks, at: a.at };
    column.give(a);
    expect(a.clocks).not.toBe(slot.clocks);
    expect([a.at, a.clocks.length, a.clocks[0]]).toEqual([0, 2, 1.5]);
    expect(Number.isNaN(a.clocks[1])).toBe(true);

    const c = holder();
    column.take(c);
    expect(c.clocks).toBe(slot.clocks);
    expect(c.at).toBe(slot.at);
    c.clocks[c.at] = 9;
    expect(a.clocks[0]).toBe(1.5);
    // Giving back twice does not free the slot twice.
    column.give(a);
    const d = holder();
    column.take(d);
    expect(d.clocks === slot.clocks && d.at === slot.at).toBe(false);
  });
});
