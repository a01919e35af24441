import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteKeys, inspector, uniquePrefix } from '../../test/support/cluster-nodes';
import { clusterOptions } from '../../test/support/cluster-unit';
import { waitFor } from '../../test/support/wait';
import type { LocalPresenceEntry, PresenceService, TopicChange, UserTransition } from '../lifeline';
import { ClusterKeys } from './cluster.constants';
import { RedisPresenceStore } from './redis-presence.store';
import { RedisConnection } from './redis.connection';

const GRACE = 200;

/** One node's store on the real Redis, with the host side played by the test. */
class StoreNode {
  readonly entries = new Map<string, LocalPresenceEntry>();
  readonly changes: TopicChange[] = [];
  readonly connection: RedisConnection;
  readonly store: RedisPresenceStore;

  constructor(
    readonly id: string,
    prefix: string,
  ) {
    const options = clusterOptions(prefix, id);
    this.connection = new RedisConnection(options);
    // Only what the store uses of PresenceService.
    const presence = { grace: GRACE, useStore: () => undefined } as unknown as PresenceService;
    this.store = new RedisPresenceStore(options, new ClusterKeys(prefix), this.connection, presence);
    this.store.bind({
      localEntries: () => this.entries.values(),
      onTopicChange: (c) => this.changes.push(c),
      onStoreReset: () => undefined,
    });
  }

  async start(redis: Redis, prefix: string): Promise<this> {
    await redis.set(`${prefix}node:${this.id}:lease`, '{}', 'PX', 60_000);
    this.store.onModuleInit();
    if (!(await this.connection.connect(3000))) throw new Error('no Redis');
    return this;
  }

  connect(member: string, clientId: string, topics: string[] = []): Promise<UserTransition[]> {
    this.entries.set(clientId, { clientId, member, scopes: ['', ...topics] });
    return this.store.apply([
      { add: true, scope: '', member, clientId },
      ...topics.map((scope) => ({ add: true, scope, member, clientId })),
    ]);
  }

  disconnect(member: string, clientId: string): Promise<UserTransition[]> {
    const scopes = [...(this.entries.get(clientId)?.scopes ?? [])];
    this.entries.delete(clientId);
    return this.store.apply(scopes.map((scope) => ({ add: false, scope, member, clientId, reason: 'client_close' as const })));
  }
}

describe('RedisPresenceStore (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let nodes: StoreNode[];

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
    await Promise.all(nodes.map((n) => n.connection.close()));
    await deleteKeys(redis, prefix);
  });

  const start = async (...ids: string[]) => {
    const started = await Promise.all(ids.map((id) => new StoreNode(id, prefix).start(redis, prefix)));
    nodes.push(...started);
    // The first tick writes each node's (empty) share.
    for (const node of started) await node.store.tick();
    return started;
  };
  const tickAll = async (among: StoreNode[]) => (await Promise.all(among.map((n) => n.store.tick()))).flat();

  it('one member on two nodes: one online; offline once, a grace after the last connection, whoever ticks', async () => {
    const [a, b] = await start('a', 'b');
    expect((await a.connect('u:alice', 'c1')).map((t) => t.to)).toEqual(['online']);
    expect(await b.connect('u:alice', 'c2')).toEqual([]);
    await a.disconnect('u:alice', 'c1');
    await sleep(GRACE + 50);
    expect(await tickAll([a, b])).toEqual([]);
    await b.disconnect('u:alice', 'c2');
    expect(await tickAll([a, b])).toEqual([]);
    await sleep(GRACE + 50);
    const offline = (await Promise.all([tickAll([a, b]), tickAll([b, a])])).flat();
    expect(offline).toHaveLength(1);
    expect(offline[0]).toMatchObject({ to: 'offline', member: 'u:alice', reason: 'client_close' });
    expect(offline[0].at - offline[0].since).toBeGreaterThanOrEqual(2 * GRACE);
    expect(await a.store.online(['u:alice'])).toEqual([false]);
  });

  it('an anonymous session resumed on another node within the grace: no transition, no leave; a moved member\'s own key leaves at once', async () => {
    const [a, b] = await start('a', 'b');
    expect((await a.connect('c:s1', 's1', ['room'])).map((t) => t.to)).toEqual(['online']);
    await a.disconnect('c:s1', 's1');
    // PresenceService's ops for the resuming connection (c2 took session s1 over): the session's member.
    expect(await b.connect('c:s1', 'c2', ['room'])).toEqual([]);
    // Another connection that had joined as itself, then resumed s1 too: it moves.
    await b.connect('c:c3', 'c3', ['room']);
    const moved = await b.store.apply([
      { add: true, scope: '', member: 'c:s1', clientId: 'c3' },
      { add: true, scope: 'room', member: 'c:s1', clientId: 'c3' },
      { add: false, scope: '', member: 'c:c3', clientId: 'c3', reason: 'resumed', immediate: true },
      { add: false, scope: 'room', member: 'c:c3', clientId: 'c3', reason: 'resumed', immediate: true },
    ]);
    expect(moved.map((t) => [t.to, t.member, t.reason])).toEqual([['offline', 'c:c3', 'resumed']]);
    await sleep(GRACE + 50);
    expect(await tickAll([a, b])).toEqual([]);
    await waitFor(() => a.changes.length === 3, 'changes heard on a');
    expect(a.changes.map((c) => [c.join, c.member])).toEqual([
      [true, 'c:s1'],
      [true, 'c:c3'],
      [false, 'c:c3'],
    ]);
    expect((await a.store.member('', 'c:s1'))?.nodes).toEqual({ b: 2 });
  });

  it('a dead node (lease gone): its connections are reaped once, then the grace, reason node_lost; a live connection elsewhere keeps the member', async () => {
    const [a, b, c] = await start('a', 'b', 'c');
    await b.connect('u:bob', 'b1', ['room']);
    await b.connect('u:carol', 'b2', ['room']);
    await c.connect('u:carol', 'c1', ['room']);
    await waitFor(() => a.changes.length === 2, 'joins heard on a');
    expect((await a.store.member('', 'u:carol'))?.nodes).toEqual({ b: 1, c: 1 });

    await redis.del(`${prefix}node:b:lease`);
    // Reads count live leases only, before anyone has reaped b.
    expect((await a.store.member('', 'u:carol'))?.nodes).toEqual({ c: 1 });
    expect(await tickAll([a, c])).toEqual([]);
    expect(await redis.exists(`${prefix}presence:node:b`)).toBe(0);
    await sleep(GRACE + 50);
    const offline = await tickAll([a, c]);
    expect(offline.map((t) => [t.member, t.reason])).toEqual([['u:bob', 'node_lost']]);
    expect(await a.store.online(['u:bob', 'u:carol'])).toEqual([false, true]);
    await waitFor(() => a.changes.length === 3, 'leave heard on a');
    expect(a.changes[2]).toMatchObject({ topic: 'room', join: false, member: 'u:bob' });
    expect((await a.store.members('room')).map((m) => m.member)).toEqual(['u:carol']);
  });

  it("a node whose share was lost (Redis emptied, or reaped after a stall) writes it again from its local state", async () => {
    const [a] = await start('a');
    await a.connect('u:dave', 'a1', ['room']);
    await deleteKeys(redis, `${prefix}presence:`);
    // The next change is refused by the script and turns into a full rewrite.
    const transitions = await a.connect('u:erin', 'a2');
    expect(transitions.map((t) => `${t.to} ${t.member}`).sort()).toEqual(['online u:dave', 'online u:erin']);
    expect(await a.store.online(['u:dave', 'u:erin'])).toEqual([true, true]);
    expect((await a.store.members('room')).map((m) => m.member)).toEqual(['u:dave']);
    // Idle node: the tick notices too.
    await redis.srem(`${prefix}presence:nodes`, 'a');
    await redis.unlink(`${prefix}presence:users`);
    expect((await a.store.tick()).map((t) => t.member).sort()).toEqual(['u:dave', 'u:erin']);
  });
});
