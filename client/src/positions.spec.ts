import { Positions } from './positions';

describe('Positions (dedupe by topic + offset)', () => {
  it('delivers increasing offsets once and drops repeats and older ones', () => {
    const p = new Positions();
    expect(p.judge('t', 'e', 1)).toEqual({ deliver: true, replayed: false });
    expect(p.judge('t', 'e', 2)).toEqual({ deliver: true, replayed: false });
    expect(p.judge('t', 'e', 2)).toEqual({ deliver: false, replayed: false });
    expect(p.judge('t', 'e', 1)).toEqual({ deliver: false, replayed: false });
    expect(p.judge('t', 'e', 3).deliver).toBe(true);
    expect(p.get('t')).toEqual({ epoch: 'e', offset: 3 });
  });

  it('keeps topics apart: the same offset in another topic is new', () => {
    const p = new Positions();
    p.judge('a', 'e', 5);
    expect(p.judge('b', 'e', 5).deliver).toBe(true);
    expect(p.all(['a', 'b', 'c'])).toEqual({ a: { epoch: 'e', offset: 5 }, b: { epoch: 'e', offset: 5 } });
  });

  it('flags a gap and a changed epoch (both delivered)', () => {
    const p = new Positions();
    p.judge('t', 'e', 1);
    expect(p.judge('t', 'e', 4)).toEqual({ deliver: true, replayed: false, gap: true });
    expect(p.judge('t', 'f', 1)).toEqual({ deliver: true, replayed: false, epochChanged: true });
    expect(p.get('t')).toEqual({ epoch: 'f', offset: 1 });
  });

  it('learns the position from `subscribed` but never moves back within an epoch', () => {
    const p = new Positions();
    p.learn('t', 'e', 41);
    expect(p.judge('t', 'e', 41).deliver).toBe(false);
    expect(p.judge('t', 'e', 42)).toEqual({ deliver: true, replayed: false });
    p.learn('t', 'e', 10);
    expect(p.get('t')).toEqual({ epoch: 'e', offset: 42 });
    p.learn('t', 'x', 3);
    expect(p.get('t')).toEqual({ epoch: 'x', offset: 3 });
  });

  it('marks the announced number of replayed messages, duplicates included', () => {
    const p = new Positions();
    p.judge('t', 'e', 10);
    p.expectReplay('t', 3);
    expect(p.judge('t', 'e', 10)).toEqual({ deliver: false, replayed: true });
    expect(p.judge('t', 'e', 11)).toEqual({ deliver: true, replayed: true });
    expect(p.judge('t', 'e', 12)).toEqual({ deliver: true, replayed: true });
    expect(p.judge('t', 'e', 13)).toEqual({ deliver: true, replayed: false });
  });

  it('without positions (a server without history) delivers everything; forget() starts over', () => {
    const p = new Positions();
    expect(p.judge('t', undefined, undefined).deliver).toBe(true);
    expect(p.judge('t', undefined, undefined).deliver).toBe(true);
    p.judge('t', 'e', 9);
    p.forget('t');
    expect(p.has('t')).toBe(false);
    expect(p.judge('t', 'e', 2).deliver).toBe(true);
  });
});
