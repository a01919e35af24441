import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RawData, WebSocket } from 'ws';
import { waitFor } from '../../../test/support/wait';
import { ClientRegistryService } from '../client-registry.service';
import { resolveLifelineOptions } from '../lifeline.options';
import type { ClientRecord } from '../interfaces/client-record.interface';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { LifelineEvents, type TopicSubscriptionEvent } from '../lifeline.events';
import { FANOUT_SENDS_PER_TURN, messageFrame as frameAt, TopicsService } from './topics.service';
import { type Connection, Loopback } from '../../../test/support/loopback';
import type { TopicLog } from '../history/interfaces/topic-log.interface';

function textOf(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

/** The frame of a message at a position; the specs' topics live in one service, so offsets count from 1. */
let epochOf: (topic: string) => string = () => '';
const messageFrame = (topic: string, data: unknown, offset: number) => frameAt(topic, data, epochOf(topic), offset);
const useEpochsOf = (topics: TopicsService) => {
  epochOf = () => '';
  return async (topic: string) => {
    const { epoch } = await topics.log.position(topic);
    epochOf = (t) => (t === topic ? epoch : '');
  };
};

/** A registered client whose raw incoming text frames are kept. */
interface Subscriber {
  record: ClientRecord;
  connection: Connection;
  received: string[];
}

describe('TopicsService (real registry, real sockets)', () => {
  let loop: Loopback;
  let registry: ClientRegistryService;
  let topics: TopicsService;

  const join = async (): Promise<Subscriber> => {
    const connection = await loop.connect();
    const received: string[] = [];
    connection.client.socket.on('message', (raw: RawData) => received.push(textOf(raw)));
    return { record: registry.register(connection.socket, connection.request), connection, received };
  };

  const resourceNames = (record: ClientRecord) => (record.resources ?? []).map((r) => r.name);

  beforeEach(async () => {
    loop = await Loopback.start();
    registry = new ClientRegistryService();
    topics = new TopicsService(registry);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await loop.close();
  });

  it('the first subscribe attaches one registry resource, "topics", for all of the client\'s subscriptions', async () => {
    const { record } = await join();
    expect(topics.subscribe(record, 'news')).toBe(true);
    expect(topics.subscribe(record, 'sport')).toBe(true);
    expect(resourceNames(record)).toEqual(['topics']);
    expect(topics.subscriptionsOf(record)).toEqual(['news', 'sport']);
    expect(topics.subscriberCount('news')).toBe(1);
    expect(topics.topicCount).toBe(2);
  });

  it('subscribe is idempotent: one entry, one resource, no duplicate-resource error', async () => {
    const { record } = await join();
    expect(topics.subscribe(record, 'news')).toBe(true);
    expect(topics.subscribe(record, 'news')).toBe(true);
    expect(topics.subscriberCount('news')).toBe(1);
    expect(resourceNames(record)).toEqual(['topics']);
    expect(topics.subscriptionCount(record)).toBe(1);
  });

  it('counts subscribers per topic and topics with subscribers', async () => {
    const a = await join();
    const b = await join();
    topics.subscribe(a.record, 'news');
    topics.subscribe(b.record, 'news');
    topics.subscribe(b.record, 'sport');
    expect(topics.subscriberCount('news')).toBe(2);
    expect(topics.subscriberCount('sport')).toBe(1);
    expect(topics.subscriberCount('weather')).toBe(0);
    expect(topics.topicCount).toBe(2);
    expect(topics.subscriptionsOf(b.record)).toEqual(['news', 'sport']);
  });

  it('unsubscribe detaches the resource and removes the entry; a second call is harmless', async () => {
    const { record } = await join();
    topics.subscribe(record, 'news');
    topics.subscribe(record, 'sport');

    topics.unsubscribe(record, 'news');
    expect(topics.subscriptionsOf(record)).toEqual(['sport']);
    expect(topics.subscriberCount('news')).toBe(0);
    expect(topics.topicCount).toBe(1);

    expect(() => topics.unsubscribe(record, 'news')).not.toThrow();
    expect(topics.subscriptionsOf(record)).toEqual(['sport']);
  });

  it('can subscribe again after unsubscribing', async () => {
    const { record } = await join();
    topics.subscribe(record, 'news');
    topics.unsubscribe(record, 'news');
    expect(topics.subscribe(record, 'news')).toBe(true);
    expect(resourceNames(record)).toEqual(['topics']);
    expect(topics.subscriberCount('news')).toBe(1);
  });

  it('refuses a subscription past maxSubscriptionsPerClient with too_many_subscriptions, changing nothing', async () => {
    topics = new TopicsService(registry, undefined, undefined, resolveLifelineOptions({ maxSubscriptionsPerClient: 2 }));
    const { record } = await join();
    topics.subscribe(record, 'a');
    topics.subscribe(record, 'b');
    let refusal: unknown;
    try {
      topics.subscribe(record, 'c');
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ code: 'too_many_subscriptions', event: 'subscribe', message: expect.stringContaining('at most 2') });
    expect(topics.subscribe(record, 'b')).toBe(true); // already held: not refused
    expect(topics.subscriberCount('c')).toBe(0);
    topics.unsubscribe(record, 'a');
    expect(topics.subscribe(record, 'c')).toBe(true);
    expect(topics.subscriptionsOf(record)).toEqual(['b', 'c']);
  });

  it('subscribe and unsubscribe cost the same at 20,000 subscriptions as at the first (O(1))', async () => {
    topics = new TopicsService(registry, undefined, undefined, resolveLifelineOptions({ maxSubscriptionsPerClient: 30_000 }));
    const { record } = await join();
    // Subscribes 500 new topics and unsubscribes them again, timed; the fastest of three runs
    // (a loaded machine adds pauses, never speed), so the held count stays where it is.
    const timeBatch = (prefix: string) => {
      let best = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        for (let i = 0; i < 500; i++) topics.subscribe(record, `${prefix}-${i}`);
        for (let i = 0; i < 500; i++) topics.unsubscribe(record, `${prefix}-${i}`);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    topics.subscribe(record, 'anchor'); // keeps the resource attached between batches
    timeBatch('warm-up');
    const early = timeBatch('early');
    for (let i = 0; i < 20_000; i++) topics.subscribe(record, `t${i}`);
    const late = timeBatch('late');
    // O(n) per call (one resource per topic, found by a walk) made the late batch ~20x the early one.
    expect(late).toBeLessThan(early * 6 + 10);
    expect(topics.subscriptionCount(record)).toBe(20_001);
  });

  it('releasing 20,000 subscriptions yields to the event loop: no stretch longer than a few ms', async () => {
    topics = new TopicsService(registry, undefined, undefined, resolveLifelineOptions({ maxSubscriptionsPerClient: 20_000 }));
    const { record } = await join();
    const other = await join();
    for (let i = 0; i < 20_000; i++) topics.subscribe(record, `t${i}`);
    topics.subscribe(other.record, 't7');
    registry.unregister(record.id);
    const [resource] = registry.takeResources(record);
    let turns = 0;
    const counter = setInterval(() => turns++, 0);
    const started = performance.now();
    const released = resource.dispose();
    const firstStretchMs = performance.now() - started;
    await released;
    clearInterval(counter);
    // Sliced: the first stretch is about a millisecond, and timers ran in between.
    expect(firstStretchMs).toBeLessThan(50);
    expect(turns).toBeGreaterThan(0);
    expect(topics.topicCount).toBe(1);
    expect(topics.subscriberCount('t7')).toBe(1);
    expect(topics.subscriptionCount(record)).toBe(0);
  });

  it('publish sends the exact frame to each live subscriber, serialising once, and returns the count', async () => {
    const a = await join();
    const b = await join();
    const outsider = await join();
    topics.subscribe(a.record, 't');
    topics.subscribe(b.record, 't');
    topics.subscribe(outsider.record, 'other');

    const stringify = jest.spyOn(JSON, 'stringify');
    const delivered = await topics.publish('t', { price: 42, tags: ['x'] });
    const serialisations = stringify.mock.calls.length;
    stringify.mockRestore();

    expect(delivered.recipients).toBe(2);
    expect(delivered.offset).toBe(1);
    // Once, not once per subscriber.
    expect(serialisations).toBe(1);
    const expected = `{"event":"message","data":{"topic":"t","data":{"price":42,"tags":["x"]},"epoch":"${delivered.epoch}","offset":1}}`;
    await waitFor(() => a.received.length > 0 && b.received.length > 0, 'both subscribers received the frame', 2000);
    expect(a.received).toEqual([expected]);
    expect(b.received).toEqual([expected]);
    expect(outsider.received).toEqual([]);
  });

  it('publish skips subscribers whose socket is not OPEN or who are no longer registered', async () => {
    const live = await join();
    const closing = await join();
    const unregistered = await join();
    for (const s of [live, closing, unregistered]) topics.subscribe(s.record, 't');

    closing.connection.socket.close(1000);
    expect(closing.connection.socket.readyState).toBe(WebSocket.CLOSING);
    registry.unregister(unregistered.record.id);
    expect(unregistered.connection.socket.readyState).toBe(WebSocket.OPEN);

    const { recipients, epoch } = await topics.publish('t', 'hello');
    expect(recipients).toBe(1);
    await waitFor(() => live.received.length > 0, 'the live subscriber received the frame', 2000);
    expect(live.received).toEqual([`{"event":"message","data":{"topic":"t","data":"hello","epoch":"${epoch}","offset":1}}`]);

    // Give a wrongly sent frame time to arrive before asserting it did not.
    await sleep(50);
    expect(closing.received).toEqual([]);
    expect(unregistered.received).toEqual([]);
  });

  it('publish to a topic nobody follows returns 0 recipients and creates no subscriber entry (the history still counts it)', async () => {
    expect(await topics.publish('nobody', { x: 1 })).toMatchObject({ recipients: 0, offset: 1 });
    expect(await topics.publish('nobody', { x: 2 })).toMatchObject({ recipients: 0, offset: 2 });
    expect(topics.topicCount).toBe(0);
  });

  it('publish with undefined data still sends a frame', async () => {
    const s = await join();
    topics.subscribe(s.record, 't');
    const { recipients, epoch } = await topics.publish('t', undefined);
    expect(recipients).toBe(1);
    await waitFor(() => s.received.length > 0, 'frame received', 2000);
    expect(s.received).toEqual([`{"event":"message","data":{"topic":"t","epoch":"${epoch}","offset":1}}`]);
  });

  it('running the disposers from takeResources leaves no subscriber and no topic', async () => {
    const a = await join();
    const b = await join();
    topics.subscribe(a.record, 'news');
    topics.subscribe(a.record, 'sport');
    topics.subscribe(b.record, 'news');

    registry.unregister(a.record.id);
    for (const resource of registry.takeResources(a.record)) await resource.dispose();
    expect(topics.subscriberCount('news')).toBe(1);
    expect(topics.subscriberCount('sport')).toBe(0);
    expect(topics.topicCount).toBe(1);

    registry.unregister(b.record.id);
    for (const resource of registry.takeResources(b.record)) await resource.dispose();
    expect(topics.subscriberCount('news')).toBe(0);
    expect(topics.topicCount).toBe(0);
  });

  it('subscribe for an unregistered client returns false and leaves no entry', async () => {
    const { record } = await join();
    registry.unregister(record.id);

    expect(topics.subscribe(record, 'news')).toBe(false);
    expect(topics.subscriberCount('news')).toBe(0);
    expect(topics.topicCount).toBe(0);
    expect(record.resources).toBeUndefined();

    // The immediately-run disposer must not create anything either.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(topics.topicCount).toBe(0);
    expect((await topics.publish('news', 1)).recipients).toBe(0);
  });
});

describe('TopicsService: the bus (cluster mode) and subscription events', () => {
  let loop: Loopback;
  let registry: ClientRegistryService;
  let events: EventEmitter2;
  let topics: TopicsService;
  let changes: string[];

  const join = async (): Promise<Subscriber> => {
    const connection = await loop.connect();
    const received: string[] = [];
    connection.client.socket.on('message', (raw: RawData) => received.push(textOf(raw)));
    return { record: registry.register(connection.socket, connection.request), connection, received };
  };

  beforeEach(async () => {
    loop = await Loopback.start();
    registry = new ClientRegistryService();
    events = new EventEmitter2();
    topics = new TopicsService(registry, events);
    changes = [];
    events.on(LifelineEvents.topicSubscribed, (e: TopicSubscriptionEvent) => changes.push(`+${e.topic}:${e.clientId}`));
    events.on(LifelineEvents.topicUnsubscribed, (e: TopicSubscriptionEvent) => changes.push(`-${e.topic}:${e.clientId}`));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await loop.close();
  });

  it('publish is local in the in-memory mode, with consecutive offsets', async () => {
    const s = await join();
    topics.subscribe(s.record, 't');
    expect(topics.distributed).toBe(false);
    const first = await topics.publish('t', 1);
    const second = await topics.publish('t', 2);
    expect([first.offset, second.offset]).toEqual([1, 2]);
    expect(second.epoch).toBe(first.epoch);
    await waitFor(() => s.received.length === 2, 'received', 2000);
    expect(s.received).toEqual([frameAt('t', 1, first.epoch, 1), frameAt('t', 2, first.epoch, 2)]);
  });

  it('deliverFrame sends an already serialised frame to local subscribers', async () => {
    const s = await join();
    topics.subscribe(s.record, 't');
    expect(topics.deliverFrame('t', '{"event":"message","data":{"topic":"t","data":"b"}}', 5)).toBe(1);
    expect(topics.deliverFrame('nobody', 'x')).toBe(0);
    await waitFor(() => s.received.length === 1, 'received', 2000);
    expect(s.received).toEqual(['{"event":"message","data":{"topic":"t","data":"b"}}']);
  });

  it('emits one event per subscription change: subscribe, unsubscribe, and release on disconnect', async () => {
    const a = await join();
    const b = await join();
    topics.subscribe(a.record, 'news');
    topics.subscribe(a.record, 'news'); // not a change
    topics.subscribe(a.record, 'sport');
    topics.subscribe(b.record, 'news');
    topics.unsubscribe(a.record, 'news');
    topics.unsubscribe(a.record, 'news'); // not a change either
    expect(changes).toEqual([`+news:${a.record.id}`, `+sport:${a.record.id}`, `+news:${b.record.id}`, `-news:${a.record.id}`]);

    changes.length = 0;
    registry.unregister(a.record.id);
    for (const resource of registry.takeResources(a.record)) await resource.dispose();
    expect(changes).toEqual([`-sport:${a.record.id}`]);
    // A subscribe refused for a departed client is no change.
    expect(topics.subscribe(a.record, 'late')).toBe(false);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(changes).toEqual([`-sport:${a.record.id}`]);
  });
});

describe('TopicsService: fan-out budget per event-loop turn', () => {
  /** A socket stand-in that keeps what was sent. */
  const fakeSocket = () => {
    const sent: string[] = [];
    return { sent, socket: { readyState: WebSocket.OPEN, send: (frame: string) => sent.push(frame) } };
  };
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('has no budget unless one is set (the in-memory mode), and cluster mode budget keeps ordinary fan-outs synchronous', () => {
    const topics = new TopicsService(new ClientRegistryService());
    expect(topics.sendsPerTurn).toBe(Number.POSITIVE_INFINITY);
    expect(FANOUT_SENDS_PER_TURN).toBeGreaterThanOrEqual(1000);
  });

  it('without a budget, every fan-out is synchronous however many there are', () => {
    const registry = new ClientRegistryService();
    const topics = new TopicsService(registry);
    const clients = Array.from({ length: 50 }, fakeSocket);
    for (const c of clients) topics.subscribe(registry.register(c.socket as unknown as WebSocket), 't');
    for (let n = 0; n < 400; n++) void topics.publish('t', n);
    expect(topics.pendingCount).toBe(0);
    expect(clients[49].sent).toHaveLength(400);
  });

  it('defers fan-outs past the budget to later turns, one share per turn, in order, each exactly once', async () => {
    const registry = new ClientRegistryService();
    const topics = new TopicsService(registry);
    topics.sendsPerTurn = 10;
    const clients = Array.from({ length: 4 }, fakeSocket);
    for (const c of clients) topics.subscribe(registry.register(c.socket as unknown as WebSocket), 't');

    const track = useEpochsOf(topics);
    const returned = await Promise.all(Array.from({ length: 10 }, (_, n) => topics.publish('t', n)));
    await track('t');

    // 4 subscribers, budget 10: publishes 0-2 go out now (12 sends), the other 7 wait.
    expect(returned.map((r) => r.recipients)).toEqual(Array(10).fill(4));
    expect(clients[0].sent).toHaveLength(3);
    expect(topics.pendingCount).toBe(7);
    // Each later turn sends one share (3 fan-outs here); timers and I/O run in between.
    await nextTurn();
    expect(topics.pendingCount).toBe(4);
    await nextTurn();
    expect(topics.pendingCount).toBe(1);
    await nextTurn();
    expect(topics.pendingCount).toBe(0);
    for (const c of clients) expect(c.sent).toEqual(Array.from({ length: 10 }, (_, n) => messageFrame('t', n, n + 1)));

    // With the backlog gone and a new turn, a publish is synchronous again.
    await nextTurn();
    expect((await topics.publish('t', 'again')).recipients).toBe(4);
    expect(clients[3].sent).toHaveLength(11);
  });

  it('never splits one fan-out, even one larger than the budget, and keeps deliveries behind waiting ones', async () => {
    const registry = new ClientRegistryService();
    const topics = new TopicsService(registry);
    topics.sendsPerTurn = 2;
    const big = Array.from({ length: 5 }, fakeSocket);
    for (const c of big) topics.subscribe(registry.register(c.socket as unknown as WebSocket), 'big');

    const track = useEpochsOf(topics);
    expect((await topics.publish('big', 1)).recipients).toBe(5); // all five at once
    await track('big');
    expect(big.map((c) => c.sent.length)).toEqual([1, 1, 1, 1, 1]);
    expect(topics.deliver('big', messageFrame('big', 2, 2), 2)).toBe(5); // deferred: 5 subscribers now
    expect(topics.deliverFrame('big', messageFrame('big', 'direct', 3), 3)).toBe(5); // deliverFrame ignores the budget
    await nextTurn();
    expect(big[0].sent).toEqual([messageFrame('big', 1, 1), messageFrame('big', 'direct', 3), messageFrame('big', 2, 2)]);
  });
});

describe('TopicsService: catch-up (subscribeFrom) against a log whose reads overtake its deliveries (as Redis pub/sub can)', () => {
  const fakeSocket = () => {
    const sent: string[] = [];
    return { sent, socket: { readyState: WebSocket.OPEN, send: (frame: string) => sent.push(frame) } };
  };
  const frame = (offset: number) => frameAt('t', offset, 'e', offset);

  /** A log that has 1..last stored; deliveries are made by the test, as a late pub/sub would. */
  const logWith = (last: number): TopicLog => ({
    append: () => Promise.reject(new Error('not used')),
    position: () => Promise.resolve({ epoch: 'e', offset: last }),
    readAfter: (_t, _e, offset) =>
      Promise.resolve({
        ok: true,
        position: { epoch: 'e', offset: last },
        messages: Array.from({ length: last - offset }, (_, i) => ({ offset: offset + 1 + i, frame: frame(offset + 1 + i) })),
      }),
    stats: () => undefined,
    close: () => undefined,
  });

  it('replays, then sends held live messages once; late copies of replayed messages are skipped', async () => {
    const registry = new ClientRegistryService();
    const topics = new TopicsService(registry);
    topics.useLog(logWith(3));
    const c = fakeSocket();
    const record = registry.register(c.socket as unknown as WebSocket);
    const pending = topics.subscribeFrom(record, 't', { epoch: 'e', offset: 1 });
    // While the history is read: copies of 2 and 3, and a new 4, arrive.
    topics.deliver('t', frame(2), 2);
    topics.deliver('t', frame(4), 4);
    const catchUp = await pending;
    expect(catchUp?.read).toMatchObject({ ok: true });
    expect(catchUp?.finish()).toBe(2);
    expect(c.sent).toEqual([frame(2), frame(3), frame(4)]);

    // Same again where nothing arrived during the read: the copies come after it.
    const d = fakeSocket();
    const other = registry.register(d.socket as unknown as WebSocket);
    const late = await topics.subscribeFrom(other, 't', { epoch: 'e', offset: 1 });
    late?.finish();
    for (const o of [2, 3, 4, 5]) topics.deliver('t', frame(o), o);
    expect(d.sent).toEqual([frame(2), frame(3), frame(4), frame(5)]);
    // The first newer message lifted the floor; a plain subscribe starts after the position.
    topics.unsubscribe(other, 't');
    const again = await topics.subscribeFrom(other, 't');
    expect(again?.position).toEqual({ epoch: 'e', offset: 3 });
    again?.finish();
    topics.deliver('t', frame(3), 3);
    topics.deliver('t', frame(6), 6);
    expect(d.sent.slice(4)).toEqual([frame(6)]);
  });
});
