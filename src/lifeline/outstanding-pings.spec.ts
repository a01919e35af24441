import type { ClientRecord } from './interfaces/client-record.interface';
import { OutstandingPings } from './outstanding-pings';

/** Only the field the queue reads; the rest of a record does not matter here. */
const client = (pingSentAt: number): ClientRecord => ({ pingSentAt }) as ClientRecord;

describe('OutstandingPings', () => {
  it('hands entries back in the order they were pushed, with their ping time', () => {
    const queue = new OutstandingPings();
    const a = client(10);
    const b = client(20);
    queue.push(a, 10);
    queue.push(b, 20);
    expect(queue.size).toBe(2);
    expect(queue.peek()).toBe(a);
    expect(queue.peekSentAt()).toBe(10);
    queue.shift();
    expect(queue.peek()).toBe(b);
    expect(queue.peekSentAt()).toBe(20);
    queue.shift();
    expect(queue.size).toBe(0);
    expect(queue.peek()).toBeUndefined();
    expect(queue.peekSentAt()).toBeNaN();
    // Shifting an empty queue is harmless.
    queue.shift();
    expect(queue.size).toBe(0);
  });

  it('an entry is current only while its client still waits for that very ping', () => {
    const queue = new OutstandingPings();
    const record = client(5);
    queue.push(record, 5);
    expect(queue.headIsCurrent()).toBe(true);
    record.pingSentAt = Number.NaN; // answered
    expect(queue.headIsCurrent()).toBe(false);
    record.pingSentAt = 9; // pinged again: the old entry is stale, the new one current
    queue.push(record, 9);
    expect(queue.headIsCurrent()).toBe(false);
    queue.shift();
    expect(queue.headIsCurrent()).toBe(true);
  });

  it('wraps around and grows without losing order, and lets go of shifted records', () => {
    const queue = new OutstandingPings();
    const internals = queue as unknown as { records: (ClientRecord | undefined)[] };
    const capacity = internals.records.length;
    let next = 0;
    let expected = 0;
    // Push and shift past the end of the ring, then fill it beyond its capacity.
    for (let i = 0; i < capacity + capacity / 2; i++) {
      queue.push(client(next), next++);
      queue.shift();
      expected++;
    }
    for (let i = 0; i < capacity * 3; i++) queue.push(client(next), next++);
    expect(queue.size).toBe(capacity * 3);
    expect(internals.records.length).toBe(capacity * 4);
    for (let i = 0; i < capacity * 3; i++) {
      expect(queue.peekSentAt()).toBe(expected);
      expect(queue.peek()?.pingSentAt).toBe(expected);
      queue.shift();
      expected++;
    }
    expect(queue.size).toBe(0);
    // Nothing shifted is still held.
    expect(internals.records.every((r) => r === undefined)).toBe(true);
  });
});
