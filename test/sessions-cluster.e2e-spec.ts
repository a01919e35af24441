import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ClusterNode,
  deleteKeys,
  inspector,
  REDIS_URL,
  requireBuild,
  startNodes,
  uniquePrefix,
} from './support/cluster-nodes';
import { PrivateRedis } from './support/cluster-redis';
import { type MessageData, SessionClient } from './support/session-client';
import { waitFor } from './support/wait';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const offsets = (messages: MessageData[]) => messages.map((m) => m.offset);
const wsUrl = (node: ClusterNode) => `ws://127.0.0.1:${node.port}/ws`;

/** Publishes with ids from one client, one at a time, until stopped; keeps the acknowledged offsets. */
function steadyPublisher(pub: SessionClient, topic: string, everyMs: number) {
  const acked: number[] = [];
  let stopped = false;
  const done = (async () => {
    for (let n = 0; !stopped; n++) {
      pub.client.send('publish', { topic, data: n, id: `steady-${n}` });
      acked.push(((await pub.client.next('published')).data as { offset: number }).offset);
      await sleep(everyMs);
    }
  })();
  return {
    acked,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

describe('sessions across the cluster (3 real nodes, real Redis)', () => {
  let nodes: ClusterNode[] = [];
  let redis: Redis | undefined;
  let prefix = '';
  let server: PrivateRedis | undefined;

  beforeAll(() => requireBuild());

  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    nodes = [];
    if (redis) {
      if (!server) await deleteKeys(redis, prefix);
      await redis.quit().catch(() => undefined);
      redis = undefined;
    }
    await server?.kill();
    server = undefined;
  });

  it('7: kill -9 of the node holding the client while B publishes steadily: the client resumes on C and gets every message, in order, once', async () => {
    prefix = uniquePrefix();
    redis = await inspector();
    nodes = await startNodes(3, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
    const [a, b, c] = nodes;
    const client = await SessionClient.open(wsUrl(a));
    await client.subscribe('steady');
    const publisher = steadyPublisher(await SessionClient.open(wsUrl(b)), 'steady', 20);
    await client.take(10);

    a.kill('SIGKILL');
    await client.client.closed;
    await sleep(300); // published while the client is away
    const resumed = await client.resume(wsUrl(c));
    expect(resumed.sessionId).toBe(client.session.id);
    expect(resumed.topics?.steady).toMatchObject({ recovered: true });
    expect(resumed.topics!.steady.replayed).toBeGreaterThan(0);
    await sleep(500); // live ones on C
    await publisher.stop();
    const last = publisher.acked[publisher.acked.length - 1];
    expect(publisher.acked).toEqual(range(1, last));
    await client.take(last - client.messages.length);
    await sleep(300);
    expect(client.pending()).toEqual([]);
    expect(offsets(client.messages)).toEqual(range(1, last));
    expect(new Set(client.messages.map((m) => m.epoch)).size).toBe(1);
    expect(await c.metric('lifeline_resumes_total', { result: 'recovered' })).toBe(1);
    // A's sessions start their TTL once it is reaped; this one is C's now and stays without one.
    await waitFor(async () => (await redis!.sismember(`${prefix}nodes`, a.id)) === 0, 'A reaped', 8000);
    await sleep(200);
    expect(await redis.pttl(`${prefix}session:${client.session.id}`)).toBe(-1);
    expect(await redis.hget(`${prefix}session:${client.session.id}`, 'n')).toBe(c.id);
  });

  it('8: after a Redis restart a resume reports epoch_changed rather than a silent gap', async () => {
    server = await PrivateRedis.start();
    prefix = uniquePrefix();
    nodes = await startNodes(2, { REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix });
    const [a, b] = nodes;
    const client = await SessionClient.open(wsUrl(a));
    await client.subscribe('t');
    const pub = await SessionClient.open(wsUrl(b));
    for (let i = 0; i < 3; i++) pub.client.send('publish', { topic: 't', data: i });
    await client.take(3);
    const before = client.positions.t;
    expect(before.offset).toBe(3);

    await server.kill();
    await server.spawn(); // empty: no persistence
    redis = await inspector(server.url);
    // The nodes re-register; A rewrites the session its live connection holds.
    await waitFor(async () => (await redis!.exists(`${prefix}session:${client.session.id}`)) === 1, 'session rewritten', 8000);
    await Promise.all(nodes.map((node) => node.ready()));

    client.client.destroy();
    pub.client.send('publish', { topic: 't', data: 'after', id: 'after-1' });
    const ack = (await pub.client.next('published', 5000)).data as { offset: number };
    expect(ack.offset).toBe(1); // a new epoch starts again at 1

    const resumed = await client.resume(wsUrl(b), { t: before });
    expect(resumed.topics).toEqual({ t: { recovered: false, reason: 'epoch_changed' } });
    // Subscribed from now on, in the new epoch.
    pub.client.send('publish', { topic: 't', data: 'live', id: 'after-2' });
    const [live] = await client.take(1);
    expect(live).toMatchObject({ data: 'live', offset: 2 });
    expect(live.epoch).not.toBe(before.epoch);

    // A half-open connection on B (still registered there) loses its session to a resume on A:
    // B is told through its evict channel and cleans it up with reason `resumed`.
    const stalled = client.client;
    stalled.socket.pause();
    const moved = await client.resume(wsUrl(a));
    expect(moved.topics).toEqual({ t: { recovered: true, replayed: 0 } });
    await waitFor(async () => (await b.metric('lifeline_disconnections_total', { reason: 'resumed' })) === 1, 'B cleaned up the old connection', 5000);
    pub.client.send('publish', { topic: 't', data: 'on a', id: 'after-3' });
    expect((await client.take(1))[0]).toMatchObject({ data: 'on a', offset: 3 });
  });
});
