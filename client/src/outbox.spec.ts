import { LifelineError } from './errors';
import { Outbox, type PublishResult } from './outbox';

function entry(id: string, bytes = 10, topic = 't') {
  const settled: { result?: PublishResult; error?: LifelineError; count: number } = { count: 0 };
  return {
    settled,
    publish: {
      id,
      topic,
      frame: 'x'.repeat(bytes),
      bytes,
      resolve: (result: PublishResult) => {
        settled.result = result;
        settled.count++;
      },
      reject: (error: LifelineError) => {
        settled.error = error;
        settled.count++;
      },
    },
  };
}

describe('Outbox (bounded outgoing publishes)', () => {
  it('defaults to 1,000 messages and 1 MiB', () => {
    const o = new Outbox();
    expect([o.maxMessages, o.maxBytes]).toEqual([1000, 1024 * 1024]);
  });

  it('refuses the message beyond the count bound with queue_full, and takes one again once acknowledged', () => {
    const o = new Outbox({ maxMessages: 3 });
    for (const id of ['a', 'b', 'c']) o.add(entry(id).publish);
    expect(() => o.add(entry('d').publish)).toThrow(/queue full/);
    expect(o.size).toBe(3);
    expect(o.acknowledge('a', 1)).toBe(true);
    expect(() => o.add(entry('d').publish)).not.toThrow();
  });

  it('refuses beyond the byte bound, counting every unacknowledged frame', () => {
    const o = new Outbox({ maxBytes: 100 });
    o.add(entry('a', 60).publish);
    expect(() => o.add(entry('b', 41).publish)).toThrow(/queue full: 60 \+ 41 bytes would exceed 100/);
    o.add(entry('c', 40).publish);
    expect(o.bytes).toBe(100);
    o.fail('a', new LifelineError('bad_request', 'x'));
    expect(o.bytes).toBe(40);
  });

  it('the default byte bound refuses a single frame over 1 MiB', () => {
    const o = new Outbox();
    expect(() => o.add(entry('big', 1024 * 1024 + 1).publish)).toThrow(/queue full/);
  });

  it('settles each publish exactly once, whatever arrives twice', () => {
    const o = new Outbox();
    const a = entry('a');
    o.add(a.publish);
    expect(o.acknowledge('a', 7)).toBe(true);
    expect(o.acknowledge('a', 8)).toBe(false);
    expect(o.fail('a', new LifelineError('closed', 'x'))).toBe(false);
    o.failAll(new LifelineError('closed', 'x'));
    expect(a.settled).toEqual({ result: { offset: 7 }, count: 1 });
  });

  it('keeps send order and knows what each connection has been sent', () => {
    const o = new Outbox();
    for (const id of ['a', 'b', 'c']) o.add(entry(id, id === 'b' ? 50 : 10).publish);
    o.get('a')!.sentOn = 1;
    o.get('b')!.sentOn = 1;
    expect(o.unsentOn(1).map((e) => e.id)).toEqual(['c']);
    expect(o.unsentOn(2).map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect(o.largestSentOn(1)?.id).toBe('b');
    expect(o.oldestFor('t', 1)?.id).toBe('a');
    expect(o.oldestFor('other', 1)).toBeUndefined();
  });

  it('failAll rejects everything and empties the queue', () => {
    const o = new Outbox();
    const items = ['a', 'b'].map((id) => entry(id));
    for (const i of items) o.add(i.publish);
    o.failAll(new LifelineError('closed', 'the client is closed'));
    expect(items.map((i) => i.settled.error?.code)).toEqual(['closed', 'closed']);
    expect([o.size, o.bytes]).toEqual([0, 0]);
  });
});
