import type { Redis } from 'ioredis';
import { sign } from 'jsonwebtoken';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PresenceMember } from '../src/lifeline';
import { randomBytes } from 'node:crypto';
import {
  ClusterNode,
  deleteKeys,
  inspector,
  keysUnder,
  REDIS_URL,
  requireBuild,
  TEST_NODE_TTL_MS,
  TEST_REFRESH_MS,
  uniquePrefix,
} from './support/cluster-nodes';
import { SessionClient } from './support/session-client';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

const SECRET = 'presence-cluster-secret-of-32-chars-at-least';
const GRACE_MS = 500;
const BATCH_MS = 200;
/** Scheduling slack on a busy shared machine, on top of the bound under test. */
const SLACK_MS = 800;

interface PresenceDiff {
  topic: string;
  joins: PresenceMember[];
  leaves: Omit<PresenceMember, 'since'>[];
}

const diffs = (client: TestClient, topic: string): PresenceDiff[] =>
  client.frames.filter((f) => f.event === 'presence').map((f) => f.data as PresenceDiff).filter((d) => d.topic === topic);

describe('presence across a cluster of three real nodes (kill -9)', () => {
  let redis: Redis;
  let prefix: string;
  let nodes: ClusterNode[];

  const join = async (node: ClusterNode, userId: string) => {
    const client = await TestClient.join(`ws://127.0.0.1:${node.port}/ws`, {
      headers: { authorization: `Bearer ${sign({ sub: userId }, SECRET, { expiresIn: 300 })}` },
    });
    return client;
  };
  const subscribe = async (client: TestClient, topic: string) => {
    client.send('subscribe', { topic, presence: true });
    return (await client.next('subscribed')).data as { presence: { members: PresenceMember[]; count: number } };
  };
  const user = async (node: ClusterNode, userId: string) =>
    (await node.get(`/presence/users/${userId}`)).body as { online: boolean; connections: number; nodes: string[]; since: number | null };
  const transitions = async (among: ClusterNode[], to: 'online' | 'offline') => {
    let sum = 0;
    for (const node of among) sum += await node.metric('lifeline_presence_transitions_total', { to });
    return sum;
  };
  const offlineLogs = (among: ClusterNode[], userId: string) =>
    among.flatMap((n) => n.logs()).filter((l) => l.msg === 'user offline' && l.userId === userId);

  beforeAll(async () => {
    requireBuild();
    redis = await inspector();
    prefix = uniquePrefix();
    // startNodes() waits 10 s per node; three cold starts on the loaded shared machine took longer.
    const tag = randomBytes(3).toString('hex');
    nodes = await Promise.all(
      ['a', 'b', 'c'].map((n) =>
        ClusterNode.start(`${tag}-${n}`, {
          REDIS_URL,
          REDIS_KEY_PREFIX: prefix,
          AUTH_MODE: 'jwt',
          AUTH_JWT_SECRET: SECRET,
          PRESENCE_GRACE_MS: String(GRACE_MS),
          PRESENCE_BATCH_MS: String(BATCH_MS),
        }),
      ),
    );
    await Promise.all(nodes.map((node) => node.ready(40_000)));
  }, 60_000);

  afterAll(async () => {
    try {
      await Promise.all((nodes ?? []).map((node) => node.stop()));
      await deleteKeys(redis, prefix);
    } finally {
      await redis.quit();
    }
  });

  it('5. a user on A and B: kill -9 A → still online; kill -9 B → offline within NODE_TTL_MS + refresh + grace, one event cluster-wide', async () => {
    const [a, b, c] = nodes;
    // A watcher on C sees the topic's members wherever they are connected.
    const watcher = await join(c, 'watcher');
    expect((await subscribe(watcher, 'room')).presence.members.map((m) => m.userId)).toEqual(['watcher']);

    const onA = await join(a, 'alice');
    await subscribe(onA, 'room');
    const onB = await join(b, 'alice');
    const seenFromB = await subscribe(onB, 'room');
    expect(seenFromB.presence.members.map((m) => m.userId).sort()).toEqual(['alice', 'watcher']);
    await waitFor(async () => (await user(c, 'alice')).connections === 2, 'alice on two nodes', 3000, 25);
    expect((await user(c, 'alice')).nodes).toEqual([a.id, b.id].sort());
    await waitFor(() => diffs(watcher, 'room').some((d) => d.joins.some((j) => j.userId === 'alice')), 'join seen on C', 3000);
    // Two connections, one member: one online transition, one join.
    expect(await transitions(nodes, 'online')).toBe(2); // watcher + alice
    expect(diffs(watcher, 'room').flatMap((d) => d.joins).filter((j) => j.userId === 'alice')).toHaveLength(1);

    a.kill('SIGKILL');
    await a.exited;
    // Reads count live leases only: A's connection leaves the view when its lease lapses.
    await waitFor(async () => (await user(c, 'alice')).connections === 1, "A's connection gone from reads", TEST_NODE_TTL_MS + TEST_REFRESH_MS + SLACK_MS, 25);
    expect(await user(c, 'alice')).toMatchObject({ online: true, nodes: [b.id] });
    await sleep(GRACE_MS + TEST_REFRESH_MS + 200);
    expect(await user(b, 'alice')).toMatchObject({ online: true, connections: 1 });
    expect(await transitions([b, c], 'offline')).toBe(0);
    expect(diffs(watcher, 'room').flatMap((d) => d.leaves)).toEqual([]);

    const killedAt = Date.now();
    b.kill('SIGKILL');
    await b.exited;
    await waitFor(async () => (await transitions([c], 'offline')) === 1, 'alice offline', TEST_NODE_TTL_MS + TEST_REFRESH_MS + GRACE_MS + 5000, 25);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThanOrEqual(TEST_NODE_TTL_MS + TEST_REFRESH_MS + GRACE_MS + SLACK_MS);
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS);
    expect(offlineLogs([c], 'alice')).toHaveLength(1);
    expect(offlineLogs([c], 'alice')[0]).toMatchObject({ reason: 'node_lost' });
    expect(await user(c, 'alice')).toEqual({ userId: 'alice', online: false, connections: 0, nodes: [], since: null });
    await waitFor(() => diffs(watcher, 'room').some((d) => d.leaves.some((l) => l.userId === 'alice')), 'leave seen on C', BATCH_MS + 2000);
    expect(diffs(watcher, 'room').flatMap((d) => d.leaves)).toEqual([{ userId: 'alice' }]);
    const topic = (await c.get('/topics/room/presence')).body as { count: number; members: PresenceMember[] };
    expect(topic.members.map((m) => m.userId)).toEqual(['watcher']);

    // Nothing of the dead nodes is left in Redis.
    await sleep(200);
    expect(await transitions([c], 'offline')).toBe(1);
    const keys = await keysUnder(redis, `${prefix}presence:`);
    expect(keys.filter((k) => k.includes(a.id) || k.includes(b.id))).toEqual([]);
    expect(await redis.smembers(`${prefix}presence:nodes`)).toEqual([c.id]);
    expect(await redis.zcard(`${prefix}presence:leaving`)).toBe(0);

    // The watcher closing leaves no presence key behind once its grace ends.
    watcher.socket.close();
    await waitFor(async () => (await c.metric('lifeline_presence_users')) === 0, 'no user left', GRACE_MS + 3000, 25);
    // Only C's membership of the node set remains.
    await waitFor(
      async () => (await keysUnder(redis, `${prefix}presence:`)).join() === `${prefix}presence:nodes`,
      'no presence key left',
      3000,
      25,
    );
  }, 40_000);

  it('a resume (Redis sessions and presence) keeps a presence-watched topic: no leave, the snapshot in `resumed`', async () => {
    const c = nodes[2];
    const url = `ws://127.0.0.1:${c.port}/ws`;
    const headers = { authorization: `Bearer ${sign({ sub: 'roamer' }, SECRET, { expiresIn: 300 })}` };
    const watcher = await join(c, 'w-resume');
    await subscribe(watcher, 'resume-room');
    const session = await SessionClient.open(url, { headers });
    await subscribe(session.client, 'resume-room');
    await waitFor(() => diffs(watcher, 'resume-room').some((d) => d.joins.some((j) => j.userId === 'roamer')), 'roamer joined', 3000);

    session.client.destroy();
    await sleep(GRACE_MS / 4);
    const resumed = (await session.resume(url, {}, { headers })) as {
      sessionId: string | null;
      topics: Record<string, { presence?: { members: PresenceMember[]; count: number } }>;
    };
    expect(resumed.sessionId).toBe(session.session.id);
    expect(resumed.topics['resume-room'].presence?.members.map((m) => m.userId).sort()).toEqual(['roamer', 'w-resume']);
    await sleep(GRACE_MS + BATCH_MS + SLACK_MS);
    expect(diffs(watcher, 'resume-room').flatMap((d) => d.leaves)).toEqual([]);
    expect(offlineLogs([c], 'roamer')).toEqual([]);
    watcher.socket.terminate();
    session.client.socket.terminate();
  }, 15_000);
});
