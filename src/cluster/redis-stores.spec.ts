import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterOptions } from '../../test/support/cluster-unit';
import { deleteKeys, inspector, uniquePrefix } from '../../test/support/cluster-nodes';
import { MemoryTopicLog } from '../lifeline';
import { ClusterKeys } from './cluster.constants';
import { RedisConnection } from './redis.connection';
import { RedisSessionStore } from './redis-session-store';
import { decodeLogMessage, RedisTopicLog } from './redis-topic-log';

const HISTORY = { size: 5, ttlMs: 60_000, maxBytes: 1 << 20, replayMaxMessages: 4 };

/** Real Redis (127.0.0.1:6379 or LIFELINE_TEST_REDIS_URL), keys under a unique prefix. */
describe('Redis stores', () => {
  let redis: Redis;
  let prefix: string;
  let connection: RedisConnection;
  let keys: ClusterKeys;
  let local: MemoryTopicLog;
  let delivered: string[];

  beforeEach(async () => {
    redis = await inspector();
    prefix = uniquePrefix();
    connection = new RedisConnection(clusterOptions(prefix, 'n1'));
    await connection.connect(3000);
    keys = new ClusterKeys(prefix);
    delivered = [];
    local = new MemoryTopicLog(HISTORY, (_t, frame) => delivered.push(frame), 60_000, 'local-n1-');
  });

  afterEach(async () => {
    local.close();
    await connection.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('RedisTopicLog: one step numbers, stores, trims and publishes; reads are bounded and honest', async () => {
    const log = new RedisTopicLog(connection, keys, HISTORY, 60_000, local);
    const published: string[] = [];
    const sub = await inspector();
    await sub.subscribe(keys.topics);
    sub.on('message', (_channel: string, message: string) => published.push(message));

    const start = await log.position('t');
    expect(start.offset).toBe(0);
    for (let i = 1; i <= 7; i++) expect(await log.append('t', { i })).toEqual({ epoch: start.epoch, offset: i });
    expect(await redis.xlen(keys.topicLog('t'))).toBe(5);
    expect(await log.readAfter('t', start.epoch, 4, 4)).toMatchObject({
      ok: true,
      position: { epoch: start.epoch, offset: 7 },
      messages: [{ offset: 5 }, { offset: 6 }, { offset: 7 }],
    });
    const read = await log.readAfter('t', start.epoch, 6, 4);
    expect(read.ok && JSON.parse(read.messages[0].frame)).toEqual({
      event: 'message',
      data: { topic: 't', data: { i: 7 }, epoch: start.epoch, offset: 7 },
    });
    expect(await log.readAfter('t', start.epoch, 0, 4)).toMatchObject({ ok: false, reason: 'too_many' });
    expect(await log.readAfter('t', start.epoch, 1, 10)).toMatchObject({ ok: false, reason: 'trimmed' });
    expect(await log.readAfter('t', 'other', 6, 4)).toMatchObject({ ok: false, reason: 'epoch_changed' });

    await sleep(100);
    expect(published.map((m) => decodeLogMessage(m)?.offset)).toEqual([1, 2, 3, 4, 5, 6, 7]);

    // History gone (a flush, a restart): a new epoch, never the old offsets again.
    await redis.del(keys.topicMeta('t'), keys.topicLog('t'));
    const next = await log.append('t', 'again');
    expect(next.offset).toBe(1);
    expect(next.epoch).not.toBe(start.epoch);
    expect(await log.readAfter('t', start.epoch, 7, 4)).toMatchObject({ ok: false, reason: 'epoch_changed' });
    expect(delivered).toEqual([]); // Redis was up: nothing went through the local fallback
    await sub.quit();
  });

  it('RedisSessionStore: take-over, release with TTL, a stale release ignored, a dead node\'s sessions expire', async () => {
    const store = new RedisSessionStore(connection, keys, 'n1', 60_000, () => ['news']);
    await store.create({ id: 's1', tokenHash: 'h1', userId: 'alice', owner: 'c1' });
    await store.addTopic('s1', 'news');
    // Watched with presence; a later plain subscribe of it keeps the flag.
    await store.addTopic('s1', 'room', true);
    await store.addTopic('s1', 'room');
    expect(await redis.smembers(keys.nodeSessions('n1'))).toEqual(['s1']);
    expect(await redis.pttl(keys.session('s1'))).toBe(-1);

    expect(await store.takeOver('s1', 'bad', 'h2', 'c2', 'alice')).toEqual({ ok: false, reason: 'unknown_session' });
    expect(await store.takeOver('s1', 'h1', 'h2', 'c2', 'bob')).toEqual({ ok: false, reason: 'forbidden' });
    expect(await store.takeOver('s1', 'h1', 'h2', 'c2', 'alice')).toEqual({
      ok: true,
      previousOwner: { clientId: 'c1', node: 'n1' },
      topics: ['news', 'room'],
      presence: ['room'],
    });
    await store.release('s1', 'c1'); // the old connection: no longer the holder
    expect(await redis.pttl(keys.session('s1'))).toBe(-1);
    await store.release('s1', 'c2');
    expect(await redis.pttl(keys.session('s1'))).toBeGreaterThan(60_000);
    expect(await redis.smembers(keys.nodeSessions('n1'))).toEqual([]);

    await store.rememberPublished('s1', 'p1', { topic: 'news', offset: 3 });
    expect(await store.published('s1', 'p1')).toEqual({ topic: 'news', offset: 3 });

    // Another node held s2 and died: its reaper starts the TTL.
    const other = new RedisSessionStore(connection, keys, 'n2', 60_000, () => []);
    await other.create({ id: 's2', tokenHash: 'x', userId: undefined, owner: 'c9' });
    expect(await store.expireNode('n2')).toBe(1);
    expect(await redis.pttl(keys.session('s2'))).toBeGreaterThan(0);
    expect(await redis.exists(keys.nodeSessions('n2'))).toBe(0);

    // Expired but remembered: `expired`, not `unknown_session`.
    const short = new RedisSessionStore(connection, keys, 'n1', 50, () => []);
    await short.create({ id: 's3', tokenHash: 'h', userId: undefined, owner: 'c3' });
    await short.release('s3', 'c3');
    await sleep(100);
    expect(await short.takeOver('s3', 'h', 'h2', 'c4', undefined)).toEqual({ ok: false, reason: 'expired' });
  });
});
