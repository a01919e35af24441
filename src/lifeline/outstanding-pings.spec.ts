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

  it('lets go of shifted records and compacts while pushes continue behind the head', () => {
    const queue = new OutstandingPings();
    const total = 5000;
    for (let i = 0; i < total; i++) queue.push(client(i), i);
    for (let i = 0; i < 6000; i++) {
      queue.shift();
      queue.push(client(total + i), total + i);
    }
    expect(queue.size).toBe(total);
    expect(queue.peekSentAt()).toBe(6000);
    // Compaction rebased the arrays: no more slots than about twice the live entries.
    expect((queue as unknown as { records: unknown[] }).records.length).toBeLessThan(2 * total);
    const holding = (queue as unknown as { records: (ClientRecord | undefined)[] }).records;
    const head = (queue as unknown as { head: number }).head;
    expect(holding.slice(0, head).every((r) => r === undefined)).toBe(true);
  });
});
