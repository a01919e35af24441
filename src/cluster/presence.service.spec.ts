import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteKeys, inspector, uniquePrefix } from '../../test/support/cluster-nodes';
import { clusterOptions, UnitNode } from '../../test/support/cluster-unit';
import { waitFor } from '../../test/support/wait';
import { FANOUT_SENDS_PER_TURN } from '../lifeline';
import { decodePresence } from './presence.service';

const TTL = 1500;

/** Real Redis (127.0.0.1:6379 or LIFELINE_TEST_REDIS_URL), keys under a unique prefix. */
describe('ClusterPresenceService and NodeLeaseService (real Redis)', () => {
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

  const start = async (id: string, flags: { renew?: boolean; bridge?: boolean } = {}) => {
    const node = await UnitNode.start(clusterOptions(prefix, id, TTL), flags);
    nodes.push(node);
    return node;
  };
  const stored = async (node: string, client: string) =>
    JSON.parse((await redis.hget(`${prefix}node:${node}:clients`, client)) ?? 'null') as unknown;

  it('registers the node: lease with the TTL, membership, and an empty presence hash', async () => {
    const a = await start('a');
    expect(a.lease.isRegistered).toBe(true);
    const pttl = await redis.pttl(`${prefix}node:a:lease`);
    expect(pttl).toBeGreaterThan(TTL - 500);
    expect(pttl).toBeLessThanOrEqual(TTL);
    expect(await redis.smembers(`${prefix}nodes`)).toEqual(['a']);
    expect(await a.presence.view()).toEqual({ nodes: 1, clients: 0 });
  });

  it('writes presence on connect, keeps subscriptions current, and removes it in the presence cleanup step', async () => {
    const a = await start('a');
    const { record } = a.connect();
    expect(record.resources?.map((r) => r.name)).toEqual(['presence']);
    await waitFor(async () => (await stored('a', record.id)) !== null, 'presence written');
    expect(await stored('a', record.id)).toEqual({ connectedAt: record.connectedAt, userId: null });

    a.topics.subscribe(record, 'news');
    a.topics.subscribe(record, 'news'); // not a change
    a.topics.subscribe(record, 'sport');
    a.topics.unsubscribe(record, 'news');
    const fields = async () => Object.keys(await redis.hgetall(`${prefix}node:a:subscriptions`));
    await waitFor(async () => JSON.stringify(await fields()) === JSON.stringify([`${record.id} sport`]), 'subscriptions written');
    expect((await a.presence.listClients()).find((v) => v.id === record.id)?.subscriptions).toEqual(['sport']);
    // The entry itself was written once, on connect.
    expect(await stored('a', record.id)).toEqual({ connectedAt: record.connectedAt, userId: null });

    await a.disconnect(record);
    expect(await redis.hexists(`${prefix}node:a:clients`, record.id)).toBe(0);
    expect(await redis.exists(`${prefix}node:a:subscriptions`)).toBe(0);
    expect(a.presence.localCount).toBe(0);
  });

  it('reads filter by live leases: entries of a node whose lease is gone are never listed or counted', async () => {
    const [a, b] = await Promise.all([start('a'), start('b')]);
    const fromA = a.connect().record;
    const fromB = b.connect().record;
    await waitFor(async () => (await a.presence.view()).clients === 2, 'both written');

    // b "dies": its lease expires, nobody has reaped it yet.
    await redis.del(`${prefix}node:b:lease`);
    expect(await a.presence.view()).toEqual({ nodes: 1, clients: 1 });
    expect((await a.presence.listClients()).map((v) => v.id)).toEqual([fromA.id]);
    expect(await a.presence.ownerOf(fromB.id)).toBeUndefined();
    expect(await a.presence.sendTo(fromB.id, { event: 'x' })).toBe(false);
    // The entry itself is still there: only the read filtered it.
    expect(await redis.hexists(`${prefix}node:b:clients`, fromB.id)).toBe(1);
    expect(await a.presence.liveNodes()).toEqual(['a']);
  });

  it('a renewal that finds its lease gone (Redis lost its data) re-registers and rewrites the whole presence', async () => {
    const a = await start('a');
    const clients = [a.connect().record, a.connect().record];
    a.topics.subscribe(clients[1], 'kept');
    await waitFor(async () => (await redis.hlen(`${prefix}node:a:clients`)) === 2, 'written');

    await deleteKeys(redis, prefix);
    await a.lease.tick();

    expect(await redis.exists(`${prefix}node:a:lease`)).toBe(1);
    expect(await redis.smembers(`${prefix}nodes`)).toEqual(['a']);
    expect((await a.presence.listClients()).map((v) => [v.id, v.subscriptions]).sort()).toEqual(
      [
        [clients[0].id, []],
        [clients[1].id, ['kept']],
      ].sort(),
    );
  });

  it('while Redis is unreachable, changes stay local; the rewrite on reconnect leaves no stale entry', async () => {
    const a = await start('a');
    const stays = a.connect().record;
    const leaves = a.connect().record;
    await waitFor(async () => (await redis.hlen(`${prefix}node:a:clients`)) === 2, 'written');

    // Redis "away" (the e2e suite kills a real one): writes are skipped, not queued.
    const away = jest.spyOn(a.connection, 'up', 'get').mockReturnValue(false);
    await a.disconnect(leaves); // the cleanup step does not fail: nothing to do until Redis is back
    const arrives = a.connect().record;
    expect(a.presence.dirty).toBe(true);
    await a.lease.tick(); // no renewal without Redis
    expect(await redis.hlen(`${prefix}node:a:clients`)).toBe(2);

    away.mockRestore();
    await a.lease.tick();
    expect(Object.keys(await redis.hgetall(`${prefix}node:a:clients`)).sort()).toEqual([stays.id, arrives.id].sort());
    expect(a.presence.dirty).toBe(false);
  });

  it('renews the lease every TTL/3 and leave() removes lease, membership and presence at once', async () => {
    const a = await start('a', { renew: true });
    a.connect();
    await sleep(TTL + 200); // past one TTL: only renewals keep it
    expect(await redis.exists(`${prefix}node:a:lease`)).toBe(1);
    expect((await a.presence.view()).clients).toBe(1);

    expect(await a.lease.leave()).toBe(true);
    expect(await redis.exists(`${prefix}node:a:lease`, `${prefix}node:a:clients`, `${prefix}node:a:subscriptions`)).toBe(0);
    expect(await redis.smembers(`${prefix}nodes`)).toEqual([]);
  });

  it('publishes cross nodes once each, the origin through Redis too (one order); sendTo uses the holder inbox', async () => {
    const [a, b] = await Promise.all([start('a', { bridge: true }), start('b', { bridge: true })]);
    // Cluster mode spreads big fan-outs over event-loop turns; the in-memory mode does not.
    expect(a.topics.sendsPerTurn).toBe(FANOUT_SENDS_PER_TURN);
    expect(a.topics.distributed).toBe(true);
    const onA = a.connect();
    const onB = b.connect();
    a.topics.subscribe(onA.record, 't');
    b.topics.subscribe(onB.record, 't');
    await waitFor(async () => (await a.presence.view()).clients === 2, 'both present');
    await sleep(50); // both subscribed to the channel

    const { recipients, epoch, offset } = await a.topics.publish('t', { n: 1 });
    expect([recipients, offset]).toEqual([1, 1]);
    const frame = `{"event":"message","data":{"topic":"t","data":{"n":1},"epoch":"${epoch}","offset":1}}`;
    await waitFor(() => onB.socket.sent.length === 1 && onA.socket.sent.length === 1, 'delivered on a and b');
    await sleep(100);
    expect(onA.socket.sent).toEqual([frame]);
    expect(onB.socket.sent).toEqual([frame]);
    expect(b.bridge.received).toBe(1);
    expect(a.bridge.received).toBe(1);

    expect(await a.presence.sendTo(onB.record.id, { event: 'notice', data: 1 })).toBe(true);
    await waitFor(() => onB.socket.sent.length === 2, 'direct frame delivered');
    expect(onB.socket.sent[1]).toBe('{"event":"notice","data":1}');
    expect(await a.presence.ownerOf(onB.record.id)).toBe('b');
    expect(await a.presence.sendTo('nobody', 'x')).toBe(false);
  });

  it('a (un)subscribe writes one small field, not the client entry: Redis traffic stays flat at 1,000 subscriptions', async () => {
    const a = await start('a');
    const { record } = a.connect();
    await waitFor(async () => (await stored('a', record.id)) !== null, 'presence written');
    const monitor = await inspector();
    let bytesIn = 0;
    let commands = 0;
    const watch = await monitor.monitor();
    watch.on('monitor', (_time: string, args: string[]) => {
      // Writes only (the waitFor below reads with HLEN).
      if (!/^(hset|hdel|hmset|set)$/i.test(args[0]) || !args.some((arg) => arg.startsWith(prefix))) return;
      commands++;
      bytesIn += args.reduce((sum, arg) => sum + arg.length, 0);
    });
    try {
      for (let i = 0; i < 1000; i++) a.topics.subscribe(record, `topic-${i}`);
      await waitFor(async () => (await redis.hlen(`${prefix}node:a:subscriptions`)) === 1000, 'all written', 10_000);
      await sleep(50);
    } finally {
      watch.disconnect();
      monitor.disconnect();
    }
    expect(commands).toBe(1000);
    // A whole-entry rewrite per subscribe moved ~1000 x 500 x 12 bytes (~6 MB) here.
    expect(bytesIn).toBeLessThan(1000 * 200);
    expect((await a.presence.listClients())[0].subscriptions).toHaveLength(1000);
    await a.disconnect(record);
    expect(await redis.exists(`${prefix}node:a:subscriptions`, `${prefix}node:a:clients`)).toBe(0);
  });

  it('decodePresence tolerates damaged values', () => {
    expect(decodePresence('c', 'n', 'not json')).toEqual({ id: 'c', node: 'n', userId: null, connectedAt: 0, subscriptions: [] });
    expect(decodePresence('c', 'n', '{"connectedAt":5,"userId":"u","subscriptions":["a",3]}')).toEqual({
      id: 'c',
      node: 'n',
      userId: 'u',
      connectedAt: 5,
      subscriptions: ['a'],
    });
  });
});
