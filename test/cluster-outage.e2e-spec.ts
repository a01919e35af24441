import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ClusterNode,
  inspector,
  requireBuild,
  startNodes,
  TEST_REFRESH_MS,
  uniquePrefix,
} from './support/cluster-nodes';
import { PrivateRedis } from './support/cluster-redis';
import { waitFor } from './support/wait';

/** Scheduling slack on a busy CI box. */
const SLACK_MS = 600;

const sorted = (ids: string[]) => [...ids].sort();

describe('cluster mode: Redis killed and restarted (private redis-server)', () => {
  let server: PrivateRedis;
  let redis: Redis | undefined;
  let nodes: ClusterNode[] = [];

  beforeAll(() => requireBuild());

  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    nodes = [];
    await redis?.quit().catch(() => undefined);
    redis = undefined;
    await server?.kill();
  });

  it('keeps local clients connected and served, reports the outage, and restores presence within a refresh of Redis returning', async () => {
    server = await PrivateRedis.start();
    const prefix = uniquePrefix();
    nodes = await startNodes(2, { REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix });
    const [a, b] = nodes;
    const onA = await Promise.all([a.join(), a.join()]);
    const onB = await Promise.all([b.join(), b.join()]);
    for (const client of [onA[1], onB[0]]) {
      client.send('subscribe', { topic: 'news' });
      await client.next('subscribed');
    }
    await waitFor(async () => (await a.clusterView())?.clients === 4, 'four clients in the cluster');

    await server.kill();

    // Degraded: /health reports Redis down, readiness stays up.
    await waitFor(async () => (await a.health()).body.details.redis?.status === 'down', 'redis reported down', 3000);
    for (const node of nodes) {
      const health = await node.health();
      expect(health.status).toBe(503);
      expect(health.body.details.redis.status).toBe('down');
      expect(health.body.details.cluster.status).toBe('down');
      expect(health.body.details.websocket.status).toBe('up');
      expect((await node.get('/health/ready')).status).toBe(200);
    }

    // Local clients are served: messages, local publishes, new clients, leaving clients.
    onA[0].send('ping', 'still there?');
    expect((await onA[0].next('pong')).data).toBe('still there?');
    onA[0].send('publish', { topic: 'news', data: 'local only' });
    expect((await onA[1].next('message')).data).toMatchObject({ topic: 'news', data: 'local only' });
    const lateOnA = await a.join();
    const leaver = onB[1];
    await leaver.close();
    // Past several renewals and dead-node checks without Redis.
    await sleep(3 * TEST_REFRESH_MS);

    await server.spawn();
    const backAt = Date.now();
    const check = await inspector(server.url);
    redis = check;
    const hashOf = async (node: ClusterNode) => sorted(Object.keys(await check.hgetall(`${prefix}node:${node.id}:clients`)));
    const expectedA = sorted([...onA, lateOnA].map((c) => c.id));
    const expectedB = sorted([onB[0].id]);
    await waitFor(
      async () =>
        JSON.stringify(await hashOf(a)) === JSON.stringify(expectedA) &&
        JSON.stringify(await hashOf(b)) === JSON.stringify(expectedB) &&
        (await check.exists(`${prefix}node:${a.id}:lease`, `${prefix}node:${b.id}:lease`)) === 2,
      'leases and presence rewritten',
      5000,
      20,
    );
    const restoredMs = Date.now() - backAt;
    expect(restoredMs).toBeLessThanOrEqual(TEST_REFRESH_MS + SLACK_MS);
    expect(sorted(await check.smembers(`${prefix}nodes`))).toEqual(sorted([a.id, b.id]));
    // The subscription survived the outage in presence too; the leaver left no stale entry.
    expect(await check.hexists(`${prefix}node:${b.id}:subscriptions`, `${onB[0].id} news`)).toBe(1);
    expect(await check.hexists(`${prefix}node:${b.id}:clients`, leaver.id)).toBe(0);

    await waitFor(async () => (await a.health()).status === 200, 'healthy again', 3000);
    expect(await a.clusterView()).toEqual({ nodes: 2, clients: 4 });

    // Cross-node delivery works again.
    onA[0].send('publish', { topic: 'news', data: 'everywhere' });
    expect((await onB[0].next('message')).data).toMatchObject({ topic: 'news', data: 'everywhere' });

    // Nobody was disconnected but the client that chose to leave.
    for (const client of [...onA, lateOnA, onB[0]]) expect(client.closeCode).toBeUndefined();
    for (const node of nodes) {
      expect(await node.metric('lifeline_disconnections_total', { reason: 'node_lost' })).toBe(0);
    }
    expect(await b.metric('lifeline_disconnections_total', { reason: 'client_close' })).toBe(1);
  });
});
