import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterPresenceService } from '../src/cluster';
import {
  type ClusterNode,
  deleteKeys,
  inspector,
  keysUnder,
  REDIS_URL,
  requireBuild,
  startNodes,
  TEST_NODE_TTL_MS,
  TEST_REFRESH_MS,
  uniquePrefix,
} from './support/cluster-nodes';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import type { TestClient } from './support/ws-client';

type Joined = TestClient & { id: string };

/** Scheduling slack on a busy CI box, on top of the bounds the design promises. */
const SLACK_MS = 600;

const sorted = (ids: string[]) => [...ids].sort();
const messages = (client: TestClient) => client.frames.filter((f) => f.event === 'message');

describe('cluster mode: three real nodes on one Redis', () => {
  let redis: Redis;
  let prefix: string;
  let nodes: ClusterNode[];

  const key = {
    nodes: () => `${prefix}nodes`,
    lease: (node: ClusterNode | string) => `${prefix}node:${typeof node === 'string' ? node : node.id}:lease`,
    clients: (node: ClusterNode | string) => `${prefix}node:${typeof node === 'string' ? node : node.id}:clients`,
  };

  /** Joins `count` clients to each node, in parallel. */
  const joinEach = (counts: number[]): Promise<Joined[][]> =>
    Promise.all(nodes.map((node, i) => Promise.all(Array.from({ length: counts[i] }, () => node.join()))));

  const viewsOf = (among: ClusterNode[]) => Promise.all(among.map((node) => node.clusterView()));

  const waitForView = (among: ClusterNode[], expected: { nodes: number; clients: number }, timeoutMs = 5000) =>
    waitFor(
      async () => (await viewsOf(among)).every((v) => v?.nodes === expected.nodes && v.clients === expected.clients),
      `cluster view ${JSON.stringify(expected)} on ${among.map((n) => n.id).join(', ')}`,
      timeoutMs,
      25,
    );

  beforeAll(async () => {
    requireBuild();
    redis = await inspector();
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    nodes = await startNodes(3, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
  });

  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await deleteKeys(redis, prefix);
  });

  it('counts the clients of every node: the cluster count is the sum, and presence follows (un)subscribes and leaves', async () => {
    const [a, b, c] = nodes;
    const [onA, onB, onC] = await joinEach([2, 3, 1]);

    await waitForView(nodes, { nodes: 3, clients: 6 });
    const local = await Promise.all(nodes.map(async (n) => (await n.health()).body.details.websocket.clients));
    expect(local).toEqual([2, 3, 1]);

    // Each node's hash holds exactly its own clients, with the presence fields.
    for (const [node, clients] of [
      [a, onA],
      [b, onB],
      [c, onC],
    ] as const) {
      const hash = await redis.hgetall(key.clients(node));
      expect(sorted(Object.keys(hash))).toEqual(sorted(clients.map((cl) => cl.id)));
      for (const value of Object.values(hash)) {
        expect(JSON.parse(value)).toEqual({ connectedAt: expect.any(Number), userId: null });
      }
      expect(await redis.pttl(key.lease(node))).toBeGreaterThan(0);
      expect(await redis.pttl(key.lease(node))).toBeLessThanOrEqual(TEST_NODE_TTL_MS);
    }
    expect(sorted(await redis.smembers(key.nodes()))).toEqual(sorted(nodes.map((n) => n.id)));

    // The operator API's cluster scope lists the same, from any node.
    const page = (await c.get('/clients?scope=cluster&limit=1000')).body as { items: { id: string; node: string }[]; total: number };
    expect(page.total).toBe(6);
    expect(sorted(page.items.map((i) => `${i.node}/${i.id}`))).toEqual(
      sorted([...onA.map((cl) => `${a.id}/${cl.id}`), ...onB.map((cl) => `${b.id}/${cl.id}`), ...onC.map((cl) => `${c.id}/${cl.id}`)]),
    );

    // Subscriptions are part of presence and stay current: one field each in the node's subscriptions hash.
    const subscriber = onB[0];
    const storedSubscriptions = async () =>
      Object.keys(await redis.hgetall(`${key.clients(b).slice(0, -'clients'.length)}subscriptions`))
        .filter((field) => field.startsWith(`${subscriber.id} `))
        .map((field) => field.slice(subscriber.id.length + 1))
        .sort();
    subscriber.send('subscribe', { topic: 'news' });
    subscriber.send('subscribe', { topic: 'sport' });
    await subscriber.next('subscribed');
    await subscriber.next('subscribed');
    await waitFor(async () => (await storedSubscriptions()).length === 2, 'subscriptions stored');
    expect(await storedSubscriptions()).toEqual(['news', 'sport']);
    subscriber.send('unsubscribe', { topic: 'news' });
    await subscriber.next('unsubscribed');
    await waitFor(async () => (await storedSubscriptions()).length === 1, 'unsubscribe stored');
    expect(await storedSubscriptions()).toEqual(['sport']);

    // A client that leaves is removed by its node's cleanup pipeline, everywhere at once.
    await onC[0].close();
    await waitForView(nodes, { nodes: 3, clients: 5 }, 2000);
    expect(await redis.hlen(key.clients(c))).toBe(0);
  });

  it('kill -9 of a node: its clients leave every view within TTL + one refresh, with one node_lost each, and its keys are reaped', async () => {
    const [a, b, c] = nodes;
    const [onA, onB, onC] = await joinEach([2, 2, 3]);
    await waitForView(nodes, { nodes: 3, clients: 7 });
    const survivors = [a, b];

    const killedAt = Date.now();
    c.kill('SIGKILL');

    await waitForView(survivors, { nodes: 2, clients: 4 }, TEST_NODE_TTL_MS + TEST_REFRESH_MS + 2000);
    const viewDroppedMs = Date.now() - killedAt;

    const cKeysGone = async () =>
      (await redis.exists(key.lease(c), key.clients(c))) === 0 && (await redis.sismember(key.nodes(), c.id)) === 0;
    await waitFor(cKeysGone, 'the dead node reaped', TEST_NODE_TTL_MS + TEST_REFRESH_MS + 2000, 20);
    const reapedMs = Date.now() - killedAt;

    expect(viewDroppedMs).toBeLessThanOrEqual(TEST_NODE_TTL_MS + TEST_REFRESH_MS + SLACK_MS);
    expect(reapedMs).toBeLessThanOrEqual(TEST_NODE_TTL_MS + TEST_REFRESH_MS + SLACK_MS);

    // One node_lost per client of C, cluster-wide: counted once, logged once, by one survivor.
    const nodeLost = async () =>
      (await Promise.all(survivors.map((n) => n.metric('lifeline_disconnections_total', { reason: 'node_lost' })))).reduce(
        (x, y) => x + y,
        0,
      );
    await waitFor(async () => (await nodeLost()) >= 3, 'node_lost counted');
    // Another refresh or two: no second survivor may reap the same node again.
    await sleep(2 * TEST_REFRESH_MS);
    expect(await nodeLost()).toBe(3);
    const lostLines = survivors.flatMap((n) => n.logs()).filter((l) => l.msg === 'client disconnected' && l.reason === 'node_lost');
    expect(sorted(lostLines.map((l) => String(l.clientId)))).toEqual(sorted(onC.map((cl) => cl.id)));
    const reapers = survivors.filter((n) => n.logs().some((l) => l.msg === 'node lost' && l.node === c.id));
    expect(reapers).toHaveLength(1);

    // The survivors' own clients were never touched.
    for (const client of [...onA, ...onB]) expect(client.closeCode).toBeUndefined();
    expect(sorted(Object.keys(await redis.hgetall(key.clients(a))))).toEqual(sorted(onA.map((cl) => cl.id)));
    expect(await nodeLost()).toBe(3);
  });

  it('a publish on node A (WebSocket) or C (HTTP) reaches the subscribers on A, B and C exactly once each, in order', async () => {
    const [onA, onB, onC] = await joinEach([2, 2, 1]);
    const [publisher, localSubscriber] = onA;
    const [remote1, outsider] = onB;
    const [remote2] = onC;
    const subscribers = [localSubscriber, remote1, remote2];
    for (const client of subscribers) {
      client.send('subscribe', { topic: 'prices' });
      await client.next('subscribed');
    }
    outsider.send('subscribe', { topic: 'other' });
    await outsider.next('subscribed');

    for (let n = 1; n <= 3; n++) publisher.send('publish', { topic: 'prices', data: { n } });
    await waitFor(() => subscribers.every((s) => messages(s).length >= 3), 'every subscriber got 3 messages', 3000);

    // The HTTP publish of the operator API, on node C, spans the cluster too.
    const res = await fetch(`${nodes[2].baseUrl}/topics/prices/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 4 }),
    });
    expect(res.status).toBe(202);
    await waitFor(() => subscribers.every((s) => messages(s).length >= 4), 'every subscriber got the HTTP publish', 3000);

    // Time for a duplicate to arrive, if one were on its way.
    await sleep(300);
    for (const client of subscribers) {
      // One order cluster-wide: consecutive offsets, the same epoch everywhere.
      const epoch = (messages(subscribers[0])[0].data as { epoch: string }).epoch;
      expect(messages(client).map((f) => f.data)).toEqual([1, 2, 3, 4].map((n) => ({ topic: 'prices', data: { n }, epoch, offset: n })));
    }
    expect(messages(outsider)).toEqual([]);
    expect(messages(publisher)).toEqual([]);
  });

  describe('with an in-process node (the API an operator controller uses)', () => {
    let t: TestApp | undefined;

    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it('lists cluster-wide presence of live leases only, and sendTo routes a frame to the node holding the client', async () => {
      const [a, b] = nodes;
      t = await startTestApp({
        env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, NODE_ID: 'in-process', NODE_TTL_MS: String(TEST_NODE_TTL_MS) },
      });
      const presence = t.app.get(ClusterPresenceService);
      const [[onA], [onB]] = await joinEach([1, 1, 0]);
      const here = await t.join();
      onB.send('subscribe', { topic: 'news' });
      await onB.next('subscribed');

      // A node that never renews: an entry no survivor has reaped yet must not count as live.
      await redis.sadd(key.nodes(), 'ghost');
      await redis.hset(key.clients('ghost'), 'ghost-client', JSON.stringify({ connectedAt: 1, userId: null, subscriptions: [] }));

      await waitFor(async () => (await presence.listClients()).length === 3, 'three live clients listed');
      const listed = await presence.listClients();
      expect(sorted(listed.map((v) => v.id))).toEqual(sorted([onA.id, onB.id, here.id]));
      expect(listed.find((v) => v.id === onB.id)).toEqual({
        id: onB.id,
        node: b.id,
        userId: null,
        connectedAt: expect.any(Number),
        subscriptions: ['news'],
      });
      expect(listed.find((v) => v.id === onA.id)?.node).toBe(a.id);
      expect(listed.find((v) => v.id === here.id)?.node).toBe('in-process');
      expect(await presence.view()).toEqual({ nodes: 4, clients: 3 });

      // sendTo: through node B's inbox, to the local client directly, nowhere for an unknown id.
      expect(await presence.sendTo(onB.id, { event: 'notice', data: { n: 1 } })).toBe(true);
      expect((await onB.next('notice')).data).toEqual({ n: 1 });
      expect(await presence.sendTo(here.id, { event: 'notice', data: { n: 2 } })).toBe(true);
      expect((await here.next('notice')).data).toEqual({ n: 2 });
      expect(await presence.sendTo('ghost-client', { event: 'notice' })).toBe(false);
      expect(await presence.sendTo('no-such-client', '{"event":"notice"}')).toBe(false);
      expect(onA.frames.filter((f) => f.event === 'notice')).toEqual([]);

      // And the ghost is reaped by one survivor within a refresh.
      await waitFor(async () => (await redis.exists(key.clients('ghost'))) === 0, 'ghost reaped', 3 * TEST_REFRESH_MS);
      expect(await redis.sismember(key.nodes(), 'ghost')).toBe(0);
    });
  });

  it('graceful shutdown removes the node lease and presence at once, with no node_lost anywhere', async () => {
    const [a, b, c] = nodes;
    const [onA, onB, onC] = await joinEach([1, 2, 1]);
    await waitForView(nodes, { nodes: 3, clients: 4 });

    const stoppingAt = Date.now();
    b.kill('SIGTERM');
    const closeCodes = await Promise.all(onB.map((client) => client.closed));
    const exited = await b.exited;
    const stoppedMs = Date.now() - stoppingAt;

    expect(exited.code).toBe(0);
    expect(closeCodes).toEqual([1001, 1001]);
    // Gone when the process is: no waiting for the lease to expire.
    expect(await redis.exists(key.lease(b), key.clients(b))).toBe(0);
    expect(await redis.sismember(key.nodes(), b.id)).toBe(0);
    expect(stoppedMs).toBeLessThan(TEST_NODE_TTL_MS);
    expect(await viewsOf([a, c])).toEqual([
      { nodes: 2, clients: 2 },
      { nodes: 2, clients: 2 },
    ]);

    // Survivors keep checking for dead nodes; B is not one.
    await sleep(TEST_REFRESH_MS + 200);
    for (const node of [a, c]) expect(await node.metric('lifeline_disconnections_total', { reason: 'node_lost' })).toBe(0);
    expect(await keysUnder(redis, `${prefix}node:${b.id}:`)).toEqual([]);
    for (const client of [...onA, ...onC]) expect(client.closeCode).toBeUndefined();
  });
});
