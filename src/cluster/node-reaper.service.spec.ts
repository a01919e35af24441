import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { deleteKeys, inspector, uniquePrefix } from '../../test/support/cluster-nodes';
import { clusterOptions, UnitNode } from '../../test/support/cluster-unit';
import { type ClientDisconnectedEvent, LifelineEvents } from '../lifeline';

/** Real Redis (127.0.0.1:6379 or LIFELINE_TEST_REDIS_URL), keys under a unique prefix. */
describe('NodeReaper (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let nodes: UnitNode[];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    redis = await inspector();
  });
  afterAll(() => redis.quit());

  beforeEach(() => {
    prefix = uniquePrefix();
    nodes = [];
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close({ leave: false })));
    await deleteKeys(redis, prefix);
  });

  const start = async (id: string) => {
    const node = await UnitNode.start(clusterOptions(prefix, id));
    nodes.push(node);
    return node;
  };

  /** A node that registered, had clients, and died: membership and presence, no lease. */
  const plantDeadNode = async (id: string, clients: Record<string, number>) => {
    await redis.sadd(`${prefix}nodes`, id);
    for (const [client, connectedAt] of Object.entries(clients)) {
      await redis.hset(
        `${prefix}node:${id}:clients`,
        client,
        JSON.stringify({ connectedAt, userId: null, subscriptions: ['t'] }),
      );
    }
  };

  const lostEvents = (node: UnitNode) => {
    const seen: ClientDisconnectedEvent[] = [];
    node.events.on(LifelineEvents.disconnected, (e: ClientDisconnectedEvent) => seen.push(e));
    return seen;
  };

  it('five survivors racing: exactly one reaps the dead node, emitting node_lost once per client', async () => {
    const survivors = await Promise.all(['s1', 's2', 's3', 's4', 's5'].map((id) => start(id)));
    const seen = survivors.map(lostEvents);
    const connectedAt = Date.now() - 5000;
    await plantDeadNode('dead', { c1: connectedAt, c2: connectedAt, c3: connectedAt });

    const results = await Promise.all(survivors.map((s) => s.reaper.reapDeadNodes()));
    await new Promise((resolve) => setImmediate(resolve));

    const winners = results.filter((r) => r.length > 0);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toEqual([{ node: 'dead', clients: expect.arrayContaining(['c1', 'c2', 'c3']) }]);
    const events = seen.flat();
    expect(events.map((e) => e.clientId).sort()).toEqual(['c1', 'c2', 'c3']);
    for (const event of events) {
      expect(event.reason).toBe('node_lost');
      expect(event.durationMs).toBeGreaterThanOrEqual(5000);
      expect(event.durationMs).toBeLessThan(60_000);
    }
    expect(await redis.exists(`${prefix}node:dead:clients`)).toBe(0);
    expect(await redis.sismember(`${prefix}nodes`, 'dead')).toBe(0);
    // The lock names the winner and expires by itself.
    const pttl = await redis.pttl(`${prefix}node:dead:reaping`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1500);

    // Later rounds find nothing more to do.
    expect((await Promise.all(survivors.map((s) => s.reaper.reapDeadNodes()))).flat()).toEqual([]);
    expect(seen.flat()).toHaveLength(3);
  });

  it('the Lua step alone is exactly-once: a second reaper that gets the lock later reaps nothing', async () => {
    const [s1, s2] = await Promise.all([start('s1'), start('s2')]);
    const seen = [s1, s2].map(lostEvents);
    await plantDeadNode('dead', { c1: Date.now() });

    expect((await s1.reaper.reap('dead'))?.clients).toEqual(['c1']);
    await redis.del(`${prefix}node:dead:reaping`); // as if the lock had expired
    expect(await s2.reaper.reap('dead')).toEqual({ node: 'dead', clients: [] });
    expect(seen.flat()).toHaveLength(1);
  });

  it('does not reap a node whose lease is back, nor itself, nor a node with a live lease', async () => {
    const [s1, alive] = await Promise.all([start('s1'), start('alive')]);
    alive.connect();
    await plantDeadNode('returning', { c1: Date.now() });
    // The node renewed between a survivor's dead-node check and its reap.
    await redis.set(`${prefix}node:returning:lease`, '{}', 'PX', 5000);

    expect(await s1.reaper.reap('returning')).toBeUndefined();
    expect(await redis.hlen(`${prefix}node:returning:clients`)).toBe(1);
    expect(await s1.reaper.reap('s1')).toBeUndefined();
    expect(await s1.reaper.deadNodes()).toEqual([]);
    expect(await s1.reaper.reapDeadNodes()).toEqual([]);
    expect(await redis.hlen(`${prefix}node:alive:clients`)).toBe(1);
  });

  it('a live node whose commands connection is held up keeps its lease and is not reaped', async () => {
    const [a, b] = await Promise.all([start('a'), start('b')]);
    const seen = lostEvents(b);
    a.connect();
    a.lease.start();
    b.lease.start();
    // A backlog on a's commands connection, Redis and both event loops free: BLPOP holds that
    // connection for 2.5 s (TTL 1.5 s) and every write behind it waits. Only a renewal that does
    // not share this FIFO keeps the lease.
    const commands = a.connection.commands;
    commands.blpop(`${prefix}never`, 2.5).catch(() => undefined); // its client-side timeout (1 s) does not free the connection
    commands.hset(`${prefix}junk`, 'f', '1').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 2200));

    expect(await redis.exists(`${prefix}junk`)).toBe(0); // the write behind it has not run yet
    expect(seen).toEqual([]);
    expect(await redis.pttl(`${prefix}node:a:lease`)).toBeGreaterThan(0);
    expect(await redis.sismember(`${prefix}nodes`, 'a')).toBe(1);
    expect(await redis.hlen(`${prefix}node:a:clients`)).toBe(1);
  });

  it('a listener that throws does not stop the other node_lost events', async () => {
    const s1 = await start('s1');
    let calls = 0;
    s1.events.on(LifelineEvents.disconnected, () => {
      calls++;
      throw new Error('listener broke');
    });
    await plantDeadNode('dead', { c1: 1, c2: 2 });
    expect((await s1.reaper.reap('dead'))?.clients).toHaveLength(2);
    expect(calls).toBe(2);
  });
});
