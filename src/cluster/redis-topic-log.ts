import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import {
  type Appended,
  type HistoryOptions,
  type LoggedMessage,
  MemoryTopicLog,
  messageFrameHead,
  type ReadAfter,
  type TopicLog,
  type TopicPosition,
  type UnrecoverableReason,
} from '../lifeline';
import type { ClusterKeys } from './cluster.constants';
import type { RedisConnection } from './redis.connection';

/**
 * Append, in one atomic step: the topic's epoch (a fresh one if its history
 * is gone: a Redis restart, a flush, keys expired), the next consecutive
 * offset, the message stored in the topic's stream (ID `<offset>-0`, trimmed
 * to HISTORY_SIZE and HISTORY_TTL_MS) and published on the topics channel,
 * so every node — the origin included — delivers in this order.
 *
 *   KEYS[1] meta hash {e: epoch, s: last offset}   KEYS[2] stream
 *   ARGV[1] fresh epoch   ARGV[2] frame head (up to the epoch's opening quote)
 *   ARGV[3] history size  ARGV[4] history TTL ms  ARGV[5] retain ms (meta)
 *   ARGV[6] channel       ARGV[7] channel header head (`["<topic>",`)
 * Returns {epoch, offset}.
 */
export const APPEND_LUA = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
end
local offset = redis.call('HINCRBY', KEYS[1], 's', 1)
local frame = ARGV[2] .. epoch .. '","offset":' .. offset .. '}}'
local size = tonumber(ARGV[3])
if size > 0 then
  local t = redis.call("TIME")
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('XADD', KEYS[2], 'MAXLEN', size, offset .. '-0', 't', now, 'f', frame)
  local cutoff = now - tonumber(ARGV[4])
  local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  if head[1] and tonumber(head[1][2][2]) < cutoff then
    local batch = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 100)
    for _, entry in ipairs(batch) do
      if tonumber(entry[2][2]) >= cutoff then break end
      redis.call('XDEL', KEYS[2], entry[1])
    end
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7] .. offset .. ']\\n' .. frame)
return {epoch, offset}
`;

/**
 * The topic's position, creating its epoch if it has none (so a client
 * subscribed before the first message holds a position that stays valid).
 *   KEYS[1] meta   ARGV[1] fresh epoch   ARGV[2] retain ms
 */
export const POSITION_LUA = `
local f = redis.call('HMGET', KEYS[1], 'e', 's')
if not f[1] then
  redis.call('HSET', KEYS[1], 'e', ARGV[1], 's', 0)
  f = {ARGV[1], '0'}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return f
`;

/**
 * The messages after a position, atomically with the position itself; a
 * bounded read (COUNT ≤ REPLAY_MAX_MESSAGES).
 *   KEYS[1] meta  KEYS[2] stream
 *   ARGV[1] epoch ARGV[2] offset  ARGV[3] max  ARGV[4] history TTL ms
 * Returns {status, epoch, last offset, frame...}; status ok | epoch_changed | too_many | trimmed.
 */
export const READ_AFTER_LUA = `
local f = redis.call('HMGET', KEYS[1], 'e', 's')
if not f[1] then return {'epoch_changed'} end
local last = tonumber(f[2])
local after = tonumber(ARGV[2])
if f[1] ~= ARGV[1] or after > last then return {'epoch_changed', f[1], last} end
local missed = last - after
if missed == 0 then return {'ok', f[1], last} end
if missed > tonumber(ARGV[3]) then return {'too_many', f[1], last} end
local entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', last .. '-0', 'COUNT', missed)
if #entries ~= missed or entries[1][1] ~= (after + 1) .. '-0' then return {'trimmed', f[1], last} end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(entries[1][2][2]) < now - tonumber(ARGV[4]) then return {'trimmed', f[1], last} end
local out = {'ok', f[1], last}
for _, entry in ipairs(entries) do out[#out + 1] = entry[2][4] end
return out
`;

type LuaReply = (string | number)[];

/** The topics channel's message: `[<topic>,<offset>]\n<frame>`. */
export function decodeLogMessage(message: string): { topic: string; offset: number; frame: string } | undefined {
  const newline = message.indexOf('\n');
  if (newline < 0) return undefined;
  try {
    const header: unknown = JSON.parse(message.slice(0, newline));
    if (!Array.isArray(header) || typeof header[0] !== 'string' || typeof header[1] !== 'number') return undefined;
    return { topic: header[0], offset: header[1], frame: message.slice(newline + 1) };
  } catch {
    return undefined;
  }
}

/**
 * History in Redis (cluster mode): a meta hash and a stream per topic. While
 * Redis is away, a publish is still delivered to this node's subscribers,
 * from a local history with an epoch of its own (`local-<node>-…`), so a
 * client that resumes afterwards hears `epoch_changed`, never a silent gap.
 */
export class RedisTopicLog implements TopicLog {
  private readonly epochBase = randomBytes(6).toString('hex');
  private epochs = 0;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: ClusterKeys,
    private readonly history: HistoryOptions,
    /** How long a topic's epoch and last offset outlive its last use. */
    private readonly retainMs: number,
    private readonly fallback: MemoryTopicLog,
  ) {}

  private get redis(): Redis {
    return this.connection.commands;
  }

  /** A new epoch, unique to this process (random base and a counter): only used if the topic has none. */
  private freshEpoch(): string {
    return `${this.epochBase}${(this.epochs++).toString(36)}`;
  }

  async append(topic: string, data: unknown): Promise<Appended> {
    if (!this.connection.up) return this.fallback.appendNow(topic, data);
    let reply: LuaReply;
    try {
      reply = (await this.redis.eval(
        APPEND_LUA,
        2,
        this.keys.topicMeta(topic),
        this.keys.topicLog(topic),
        this.freshEpoch(),
        messageFrameHead(topic, data),
        this.history.size,
        this.history.ttlMs,
        this.retainMs,
        this.keys.topics,
        `[${JSON.stringify(topic)},`,
      )) as LuaReply;
    } catch (err) {
      // Redis went away: this node's subscribers still get it, under a local epoch. A slow reply
      // (a timeout while connected) is an error for the publisher, not an epoch of its own: the
      // script may have run, and epochs must not flap under load.
      if (!this.connection.up) return this.fallback.appendNow(topic, data);
      throw err;
    }
    return { epoch: String(reply[0]), offset: Number(reply[1]) };
  }

  async position(topic: string): Promise<TopicPosition> {
    if (!this.connection.up) return this.fallback.position(topic);
    const reply = (await this.redis.eval(POSITION_LUA, 1, this.keys.topicMeta(topic), this.freshEpoch(), this.retainMs)) as LuaReply;
    return { epoch: String(reply[0]), offset: Number(reply[1]) };
  }

  async readAfter(topic: string, epoch: string, offset: number, max: number): Promise<ReadAfter> {
    if (!this.connection.up || epoch.startsWith('local-')) return this.fallback.readAfter(topic, epoch, offset, max);
    const reply = (await this.redis.eval(
      READ_AFTER_LUA,
      2,
      this.keys.topicMeta(topic),
      this.keys.topicLog(topic),
      epoch,
      offset,
      max,
      this.history.ttlMs,
    )) as LuaReply;
    const status = String(reply[0]);
    const position = reply.length >= 3 ? { epoch: String(reply[1]), offset: Number(reply[2]) } : undefined;
    if (status !== 'ok' || !position) {
      return { ok: false, position, reason: (status === 'ok' ? 'epoch_changed' : status) as UnrecoverableReason };
    }
    const messages: LoggedMessage[] = [];
    for (let i = 3; i < reply.length; i++) messages.push({ offset: offset + i - 2, frame: String(reply[i]) });
    return { ok: true, position, messages };
  }

  /** Redis keeps the history: its size is Redis's (INFO, MEMORY USAGE), not counted here. */
  stats(): undefined {
    return undefined;
  }

  close(): void {
    this.fallback.close();
  }
}
