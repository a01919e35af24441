import type { Redis } from 'ioredis';
import {
  MAX_PUBLISH_IDS_PER_SESSION,
  type NewSession,
  type PublishedId,
  type ResumeRefusal,
  type SessionStore,
  type TakeOver,
} from '../lifeline';
import type { ClusterKeys } from './cluster.constants';
import type { RedisConnection } from './redis.connection';

/** The stored user: '' for none, '=' + userId otherwise (so an empty userId is not "none"). */
const userField = (userId: string | undefined) => (userId === undefined ? '' : `=${userId}`);

/**
 * Takes a session over, atomically.
 *   KEYS[1] session  KEYS[2] its ids list
 *   ARGV[1] presented token hash  ARGV[2] new hash  ARGV[3] new holder (client)
 *   ARGV[4] new holder's node     ARGV[5] user field  ARGV[6] key prefix  ARGV[7] session id
 * Returns {'ok', previous client, previous node, topic, flag, topic, flag...} or {reason}:
 * a subscription is field `t:<topic>`, value '1', or 'p' if subscribed with presence.
 * Token hashes are SHA-256 digests: comparing them in Lua leaks no usable timing.
 */
export const TAKE_OVER_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown_session'} end
local f = redis.call('HMGET', KEYS[1], 'h', 'p', 'u', 'c', 'n', 'x')
if f[1] ~= ARGV[1] and f[2] ~= ARGV[1] then return {'unknown_session'} end
local holder = f[4] or ''
local node = f[5] or ''
if holder == '' then
  local t = redis.call("TIME")
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if f[6] and f[6] ~= '' and tonumber(f[6]) <= now then return {'expired'} end
end
if (f[3] or '') ~= ARGV[5] then return {'forbidden'} end
redis.call('HSET', KEYS[1], 'p', ARGV[1], 'h', ARGV[2], 'c', ARGV[3], 'n', ARGV[4], 'x', '')
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
if node ~= '' then redis.call('SREM', ARGV[6] .. 'node:' .. node .. ':sessions', ARGV[7]) end
redis.call('SADD', ARGV[6] .. 'node:' .. ARGV[4] .. ':sessions', ARGV[7])
if holder ~= '' and node ~= ARGV[4] then redis.call('PUBLISH', ARGV[6] .. 'node:' .. node .. ':evict', holder) end
local out = {'ok', holder, node}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 't:' then
    out[#out + 1] = string.sub(all[i], 3)
    out[#out + 1] = all[i + 1]
  end
end
return out
`;

/**
 * The holder let go: the TTL starts, if it still holds the session.
 *   KEYS[1] session KEYS[2] ids KEYS[3] holder node's sessions set
 *   ARGV[1] holder client  ARGV[2] session TTL ms  ARGV[3] key lifetime ms (TTL + tombstone)  ARGV[4] session id
 */
export const RELEASE_LUA = `
if redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then return 0 end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'c', '', 'n', '', 'x', now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SREM', KEYS[3], ARGV[4])
return 1
`;

/**
 * A dead node's sessions start their TTL (run by the node that reaped it).
 *   KEYS[1] the node's sessions set  ARGV[1] node  ARGV[2] prefix  ARGV[3] TTL ms  ARGV[4] key lifetime ms
 */
export const EXPIRE_NODE_LUA = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. 'session:' .. id
  if redis.call('HGET', key, 'n') == ARGV[1] then
    redis.call('HSET', key, 'c', '', 'n', '', 'x', now + tonumber(ARGV[3]))
    redis.call('PEXPIRE', key, ARGV[4])
    redis.call('PEXPIRE', key .. ':ids', ARGV[4])
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
`;

/**
 * A subscription, only on an existing session (a gone session must not come
 * back without a TTL). ARGV[1] field, ARGV[2] '1' (plain) or 'p' (presence):
 * a plain subscribe never turns 'p' back into '1'. Nodes without presence in
 * sessions wrote '1' and read only the field names, so both forms mix.
 */
export const ADD_TOPIC_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == 'p' then return redis.call('HSET', KEYS[1], ARGV[1], 'p') end
return redis.call('HSETNX', KEYS[1], ARGV[1], '1')
`;

/**
 * Remembers a publish id, forgetting the oldest beyond the bound.
 *   KEYS[1] session KEYS[2] ids  ARGV[1] id  ARGV[2] "offset topic"  ARGV[3] bound
 */
export const REMEMBER_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'i:' .. ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
if redis.call('LLEN', KEYS[2]) > tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[1], 'i:' .. redis.call('LPOP', KEYS[2]))
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`;

/** What this node keeps of the sessions its connections hold: enough to rewrite them after Redis lost them. */
interface HeldSession {
  tokenHash: string;
  previousHash: string | undefined;
  userId: string | undefined;
  owner: string;
}

/**
 * Sessions in Redis (cluster mode), so a client resumes on any node: a hash
 * per session, no TTL while a connection holds it, PEXPIRE when it is let
 * go — by the holder's cleanup, or by the node that reaps a dead holder
 * (kill -9). Every check-and-change is one Lua script.
 *
 * When Redis comes back empty (a restart), the node rewrites the sessions of
 * its live connections, as it does its presence; history epochs change, so
 * a resume there reports `epoch_changed`. Publish ids are not rewritten.
 */
export class RedisSessionStore implements SessionStore {
  /** Sessions held by this node's live connections, by id. */
  private readonly held = new Map<string, HeldSession>();
  private evictListener: ((clientId: string) => void) | undefined;
  private readonly onEvictMessage = (channel: string, message: string) => {
    if (channel === this.keys.evict(this.nodeId)) this.evictListener?.(message);
  };

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: ClusterKeys,
    private readonly nodeId: string,
    private readonly ttlMs: number,
    /** The subscriptions of a live client (for the rewrite). */
    private readonly topicsOf: (clientId: string) => string[],
  ) {}

  /** Key lifetime after release: the TTL, then as long again as a tombstone (at least 10 s) that answers `expired`. */
  private get keyLifetimeMs(): number {
    return this.ttlMs + Math.max(this.ttlMs, 10_000);
  }

  private get redis(): Redis {
    return this.connection.commands;
  }

  get size(): number {
    return this.held.size;
  }

  onEvict(listener: (clientId: string) => void): void {
    this.evictListener = listener;
  }

  /** Listens for evictions and rewrites held sessions whenever Redis is (back) up. */
  start(): void {
    this.connection.subscriber.on('message', this.onEvictMessage);
    this.connection.subscriber.subscribe(this.keys.evict(this.nodeId)).catch(() => undefined);
    this.connection.onReadyEvent(() => void this.rewrite().catch(() => undefined));
  }

  close(): void {
    this.connection.subscriber.off('message', this.onEvictMessage);
  }

  async create(session: NewSession): Promise<void> {
    this.held.set(session.id, { tokenHash: session.tokenHash, previousHash: undefined, userId: session.userId, owner: session.owner });
    await this.write(session.id, this.held.get(session.id)!, []);
  }

  private async write(id: string, held: HeldSession, topics: string[]): Promise<void> {
    const fields: Record<string, string> = {
      h: held.tokenHash,
      p: held.previousHash ?? '',
      u: userField(held.userId),
      c: held.owner,
      n: this.nodeId,
      x: '',
    };
    const multi = this.redis.multi().hset(this.keys.session(id), fields);
    // NX: a rewrite while the hash survived keeps a subscription's presence flag ('p').
    for (const topic of topics) multi.hsetnx(this.keys.session(id), `t:${topic}`, '1');
    await multi.persist(this.keys.session(id)).sadd(this.keys.nodeSessions(this.nodeId), id).exec();
  }

  /** After Redis lost its data (or before it was first reachable): every held session again. */
  async rewrite(): Promise<void> {
    for (const [id, held] of this.held) await this.write(id, held, this.topicsOf(held.owner));
  }

  async takeOver(id: string, tokenHash: string, newTokenHash: string, owner: string, userId: string | undefined): Promise<TakeOver> {
    const reply = (await this.redis.eval(
      TAKE_OVER_LUA,
      2,
      this.keys.session(id),
      this.keys.sessionIds(id),
      tokenHash,
      newTokenHash,
      owner,
      this.nodeId,
      userField(userId),
      this.keys.prefix,
      id,
    )) as string[];
    if (reply[0] !== 'ok') return { ok: false, reason: reply[0] as ResumeRefusal };
    this.held.set(id, { tokenHash: newTokenHash, previousHash: tokenHash, userId, owner });
    const [, holder, node, ...pairs] = reply;
    const topics: string[] = [];
    const presence: string[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      topics.push(pairs[i]);
      if (pairs[i + 1] === 'p') presence.push(pairs[i]);
    }
    return { ok: true, previousOwner: holder ? { clientId: holder, node } : undefined, topics, presence };
  }

  async release(id: string, owner: string): Promise<void> {
    if (this.held.get(id)?.owner === owner) this.held.delete(id);
    await this.redis.eval(
      RELEASE_LUA,
      3,
      this.keys.session(id),
      this.keys.sessionIds(id),
      this.keys.nodeSessions(this.nodeId),
      owner,
      this.ttlMs,
      this.keyLifetimeMs,
      id,
    );
  }

  async discard(id: string): Promise<void> {
    this.held.delete(id);
    await this.redis
      .multi()
      .unlink(this.keys.session(id), this.keys.sessionIds(id))
      .srem(this.keys.nodeSessions(this.nodeId), id)
      .exec();
  }

  async addTopic(id: string, topic: string, presence = false): Promise<void> {
    await this.redis.eval(ADD_TOPIC_LUA, 1, this.keys.session(id), `t:${topic}`, presence ? 'p' : '1');
  }

  async removeTopic(id: string, topic: string): Promise<void> {
    await this.redis.hdel(this.keys.session(id), `t:${topic}`);
  }

  async published(id: string, publishId: string): Promise<PublishedId | undefined> {
    const value = await this.redis.hget(this.keys.session(id), `i:${publishId}`);
    if (!value) return undefined;
    const space = value.indexOf(' ');
    return { offset: Number(value.slice(0, space)), topic: value.slice(space + 1) };
  }

  async rememberPublished(id: string, publishId: string, published: PublishedId): Promise<void> {
    await this.redis.eval(
      REMEMBER_LUA,
      2,
      this.keys.session(id),
      this.keys.sessionIds(id),
      publishId,
      `${published.offset} ${published.topic}`,
      MAX_PUBLISH_IDS_PER_SESSION,
    );
  }

  /** A dead node's sessions start their TTL; returns how many. */
  async expireNode(node: string): Promise<number> {
    return (await this.redis.eval(
      EXPIRE_NODE_LUA,
      1,
      this.keys.nodeSessions(node),
      node,
      this.keys.prefix,
      this.ttlMs,
      this.keyLifetimeMs,
    )) as number;
  }
}
