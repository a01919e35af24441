import { setTimeout as sleep } from 'node:timers/promises';
import type { HistoryOptions } from './interfaces/topic-log.interface';
import { MemoryTopicLog } from './memory-topic-log';
import { messageFrame } from './message-frame';

const options = (over: Partial<HistoryOptions> = {}): HistoryOptions => ({
  size: 1000,
  ttlMs: 60_000,
  maxBytes: 64 * 1024 * 1024,
  replayMaxMessages: 1000,
  ...over,
});

describe('MemoryTopicLog', () => {
  const logs: MemoryTopicLog[] = [];
  const make = (over: Partial<HistoryOptions> = {}, retainMs = 60_000) => {
    const delivered: [string, string, number][] = [];
    const log = new MemoryTopicLog(options(over), (topic, frame, offset) => delivered.push([topic, frame, offset]), retainMs);
    logs.push(log);
    return { log, delivered };
  };
  afterEach(() => logs.splice(0).forEach((log) => log.close()));

  it('assigns consecutive offsets per topic and hands every frame to the sink at once', async () => {
    const { log, delivered } = make();
    const a1 = await log.append('a', { x: 1 });
    const a2 = await log.append('a', 'two');
    const b1 = await log.append('b', null);
    expect([a1.offset, a2.offset, b1.offset]).toEqual([1, 2, 1]);
    expect(a2.epoch).toBe(a1.epoch);
    expect(b1.epoch).not.toBe(a1.epoch); // one history each
    expect(delivered).toEqual([
      ['a', messageFrame('a', { x: 1 }, a1.epoch, 1), 1],
      ['a', messageFrame('a', 'two', a1.epoch, 2), 2],
      ['b', messageFrame('b', null, b1.epoch, 1), 1],
    ]);
    expect(JSON.parse(delivered[0][1])).toEqual({ event: 'message', data: { topic: 'a', data: { x: 1 }, epoch: a1.epoch, offset: 1 } });
  });

  it('position before any message is offset 0 of an epoch the first message keeps', async () => {
    const { log } = make();
    const position = await log.position('t');
    expect(position.offset).toBe(0);
    expect((await log.append('t', 1)).epoch).toBe(position.epoch);
    expect(await log.readAfter('t', position.epoch, 0, 10)).toMatchObject({ ok: true, messages: [{ offset: 1 }] });
  });

  it('readAfter: the messages after a position; too_many, trimmed and epoch_changed otherwise', async () => {
    const { log } = make({ size: 5 });
    const { epoch } = await log.position('t');
    for (let i = 1; i <= 8; i++) await log.append('t', i);
    const read = await log.readAfter('t', epoch, 5, 10);
    expect(read).toEqual({
      ok: true,
      position: { epoch, offset: 8 },
      messages: [6, 7, 8].map((o) => ({ offset: o, frame: messageFrame('t', o, epoch, o) })),
    });
    expect(await log.readAfter('t', epoch, 8, 10)).toMatchObject({ ok: true, messages: [] });
    expect(await log.readAfter('t', epoch, 2, 10)).toMatchObject({ ok: false, reason: 'trimmed' });
    expect(await log.readAfter('t', epoch, 3, 10)).toMatchObject({ ok: true, messages: [{ offset: 4 }, {}, {}, {}, { offset: 8 }] });
    expect(await log.readAfter('t', epoch, 0, 3)).toMatchObject({ ok: false, reason: 'too_many' });
    expect(await log.readAfter('t', 'another', 3, 10)).toMatchObject({ ok: false, reason: 'epoch_changed' });
    expect(await log.readAfter('t', epoch, 9, 10)).toMatchObject({ ok: false, reason: 'epoch_changed' });
    expect(await log.readAfter('unknown', epoch, 0, 10)).toMatchObject({ ok: false, reason: 'epoch_changed' });
  });

  it('keeps all topics within HISTORY_MAX_BYTES, trimming the oldest message of any topic first', async () => {
    const { log } = make({ maxBytes: 2_000 });
    const big = 'x'.repeat(200);
    for (let i = 0; i < 30; i++) await log.append(i % 2 === 0 ? 'even' : 'odd', big);
    const { bytes, messages } = log.stats();
    expect(bytes).toBeLessThanOrEqual(2_000);
    expect(messages).toBeGreaterThan(0);
    // The newest of each topic are the ones kept.
    const even = await log.position('even');
    expect(await log.readAfter('even', even.epoch, even.offset - 1, 10)).toMatchObject({ ok: true });
    expect(await log.readAfter('even', even.epoch, 0, 100)).toMatchObject({ ok: false, reason: 'trimmed' });
  });

  it('ages messages out after HISTORY_TTL_MS and forgets an unused empty history after retainMs, through one timer', async () => {
    const { log } = make({ ttlMs: 100 }, 150);
    const { epoch } = await log.append('t', 1);
    expect(log.stats().messages).toBe(1);
    await sleep(250);
    expect(log.stats()).toEqual({ messages: 0, bytes: 0 });
    expect(await log.readAfter('t', epoch, 0, 10)).toMatchObject({ ok: false });
    await sleep(300);
    expect(log.topicCount).toBe(0);
    // A history made again gets a new epoch: a position from the old one is never taken for it.
    expect((await log.position('t')).epoch).not.toBe(epoch);
  });

  it('with HISTORY_SIZE 0 keeps nothing but still numbers messages', async () => {
    const { log, delivered } = make({ size: 0 });
    const { epoch } = await log.append('t', 1);
    await log.append('t', 2);
    expect(log.stats()).toEqual({ messages: 0, bytes: 0 });
    expect(delivered.map(([, , o]) => o)).toEqual([1, 2]);
    expect(await log.readAfter('t', epoch, 1, 10)).toMatchObject({ ok: false, reason: 'trimmed' });
  });

  it('epochs differ between stores (a restart)', async () => {
    const first = make().log;
    const second = make().log;
    expect((await first.position('t')).epoch).not.toBe((await second.position('t')).epoch);
  });
});
