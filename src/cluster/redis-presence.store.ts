import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  type LocalPresenceEntry,
  type PresenceOp,
  type PresenceScope,
  PresenceService,
  type PresenceStore,
  type PresenceStoreHost,
  presenceTickMs,
  type StoredMember,
  type TopicChange,
  type UserTransition,
} from '../lifeline';
import { CLUSTER_OPTIONS, ClusterKeys } from './cluster.constants';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { PRESENCE_LUA } from './presence.lua';
import { execPipeline } from './presence.service';
import { RedisConnection } from './redis.connection';
import { LifelineLogger } from '../lifeline';

/** Graces ended per script call; a backlog takes several calls in one tick. */
const EXPIRE_BATCH = 1000;
/** Entries per sync call argument list (Lua's unpack has no part here, but one huge call would hold Redis). */
const SYNC_ENTRIES_MAX = 200_000;

type PresenceRedis = Redis & {
  lifelinePresence(...args: (string | number)[]): Promise<(string | number)[]>;
};

interface StoredState {
  s: number;
  c: Record<string, string>;
  l?: number;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Presence across the cluster (see presence.lua.ts for the keys). Every
 * change is one script call, so each transition happens once cluster-wide
 * and is reported by the node whose call made it: user-level ones as the
 * call's result, topic changes on a channel every node hears (this one
 * included: one path for all).
 *
 * Each node's share (its connections) is also kept under its own key, so
 * that a survivor can take a dead node's connections away in one step
 * (`node_lost`, then the usual grace) and a node whose share was lost (Redis
 * restarted, reaped after a stall, writes failed) can rewrite it from its
 * local state. Reads count connections on live leases only.
 */
@Injectable()
export class RedisPresenceStore implements PresenceStore, OnModuleInit {
  private readonly logger = new LifelineLogger('Presence');
  readonly nodeId: string;
  readonly tickMs: number;
  private host: PresenceStoreHost | undefined;
  private readonly channel: string;
  private readonly listener = (channel: string, message: string) => this.onMessage(channel, message);
  /** This node's share in Redis may be missing or stale: rewrite it at the next tick. */
  private dirty = true;

  constructor(
    @Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions,
    private readonly keys: ClusterKeys,
    private readonly connection: RedisConnection,
    private readonly presence: PresenceService,
  ) {
    this.nodeId = options.nodeId;
    this.tickMs = presenceTickMs(presence.grace, options.refreshMs);
    this.channel = `${keys.prefix}presence:changes`;
    (connection.commands as PresenceRedis).defineCommand('lifelinePresence', { numberOfKeys: 0, lua: PRESENCE_LUA });
    connection.onReadyEvent(() => (this.dirty = true));
    connection.onDownEvent(() => (this.dirty = true));
  }

  /** Chosen here, at module init, before any client can connect. */
  onModuleInit(): void {
    this.presence.useStore(this);
    this.connection.subscriber.on('message', this.listener);
    this.connection.subscriber.subscribe(this.channel).catch((err: unknown) => {
      this.logger.warn({ msg: 'presence subscribe failed', error: errorText(err) });
    });
  }

  bind(host: PresenceStoreHost): void {
    this.host = host;
  }

  async apply(ops: PresenceOp[]): Promise<UserTransition[]> {
    if (!this.connection.up) {
      // Nothing to try: the rewrite when Redis is back is built from the
      // local state, which already holds these changes (as for the cluster
      // directory's presence).
      this.dirty = true;
      return [];
    }
    const args: string[] = [];
    for (const op of ops) {
      const reason = op.add ? '' : `${op.immediate ? '!' : ''}${op.reason ?? 'client_close'}`;
      args.push(op.add ? '1' : '0', op.scope, op.member, op.clientId, reason);
    }
    let reply: (string | number)[];
    try {
      reply = await this.call('apply', args);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    // This node's share was reaped (a stall) or lost (Redis restarted): rewrite it,
    // from the local state that already holds these changes.
    if (reply[0] === 'resync') return this.sync();
    return transitionsOf(reply);
  }

  async tick(): Promise<UserTransition[]> {
    if (!this.connection.up || !this.host) return [];
    const transitions: UserTransition[] = [];
    if (this.dirty || !(await this.registered())) transitions.push(...(await this.sync()));
    for (const node of await this.deadNodes()) await this.call('reap', [node]);
    for (;;) {
      const reply = await this.call('expire', [String(EXPIRE_BATCH)]);
      transitions.push(...transitionsOf(reply));
      if (Number(reply[0]) < EXPIRE_BATCH) break;
    }
    return transitions;
  }

  async members(scope: PresenceScope): Promise<StoredMember[]> {
    const hash = await this.connection.commands.hgetall(this.scopeKey(scope));
    const states = Object.entries(hash).map(([member, value]) => [member, decode(value)] as const);
    const live = await this.liveNodes(states.flatMap(([, st]) => Object.values(st.c)));
    return states.map(([member, st]) => view(member, st, live));
  }

  async member(scope: PresenceScope, member: string): Promise<StoredMember | undefined> {
    const value = await this.connection.commands.hget(this.scopeKey(scope), member);
    if (value === null) return undefined;
    const st = decode(value);
    return view(member, st, await this.liveNodes(Object.values(st.c)));
  }

  async online(members: string[]): Promise<boolean[]> {
    if (members.length === 0) return [];
    const values = await this.connection.commands.hmget(this.scopeKey(''), ...members);
    return values.map((v) => v !== null);
  }

  userCount(): Promise<number> {
    return this.connection.commands.hlen(this.scopeKey(''));
  }

  /** Rewrites this node's share from the local state. */
  private async sync(): Promise<UserTransition[]> {
    if (!this.host) return [];
    this.dirty = false;
    const args: string[] = [];
    for (const entry of this.host.localEntries()) pushEntry(args, entry);
    if (args.length / 3 > SYNC_ENTRIES_MAX) this.logger.warn({ msg: 'large presence rewrite', entries: args.length / 3 });
    try {
      const transitions = transitionsOf(await this.call('sync', args));
      this.host.onStoreReset();
      this.logger.log({ msg: 'presence share written', node: this.nodeId, entries: args.length / 3 });
      return transitions;
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  private async registered(): Promise<boolean> {
    return (await this.connection.commands.sismember(`${this.keys.prefix}presence:nodes`, this.nodeId)) === 1;
  }

  /** Nodes with a share in Redis but no lease. */
  private async deadNodes(): Promise<string[]> {
    const redis = this.connection.commands;
    const others = (await redis.smembers(`${this.keys.prefix}presence:nodes`)).filter((n) => n !== this.nodeId);
    if (others.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const node of others) pipeline.exists(this.keys.lease(node));
    const results = await execPipeline(pipeline);
    return others.filter((_, i) => results[i] === 0);
  }

  private async liveNodes(nodes: string[]): Promise<Set<string>> {
    const distinct = [...new Set(nodes)];
    if (distinct.length === 0) return new Set();
    const pipeline = this.connection.commands.pipeline();
    for (const node of distinct) pipeline.exists(this.keys.lease(node));
    const results = await execPipeline(pipeline);
    return new Set(distinct.filter((_, i) => results[i] === 1));
  }

  private call(mode: string, args: string[]): Promise<(string | number)[]> {
    return (this.connection.commands as PresenceRedis).lifelinePresence(
      this.keys.prefix,
      this.nodeId,
      this.presence.grace,
      mode,
      ...args,
    );
  }

  private scopeKey(scope: PresenceScope): string {
    return scope === '' ? `${this.keys.prefix}presence:users` : `${this.keys.prefix}presence:topic:${scope}`;
  }

  private onMessage(channel: string, message: string): void {
    if (channel !== this.channel || !this.host) return;
    try {
      const [topic, kind, member, since] = JSON.parse(message) as [unknown, unknown, unknown, unknown];
      if (typeof topic !== 'string' || typeof member !== 'string' || typeof since !== 'number') return;
      const change: TopicChange = { topic, join: kind === 'j', member, since };
      this.host.onTopicChange(change);
    } catch {
      // not ours
    }
  }
}

function pushEntry(args: string[], entry: LocalPresenceEntry): void {
  for (const scope of entry.scopes) args.push(entry.clientId, scope, entry.member);
}

function decode(value: string): StoredState {
  try {
    const st = JSON.parse(value) as Partial<StoredState>;
    return {
      s: typeof st.s === 'number' ? st.s : 0,
      c: st.c && typeof st.c === 'object' && !Array.isArray(st.c) ? st.c : {},
      l: typeof st.l === 'number' ? st.l : undefined,
    };
  } catch {
    return { s: 0, c: {} };
  }
}

function view(member: string, st: StoredState, live: Set<string>): StoredMember {
  const nodes: Record<string, number> = {};
  for (const node of Object.values(st.c)) if (live.has(node)) nodes[node] = (nodes[node] ?? 0) + 1;
  return { member, since: st.s, nodes, leavingAt: st.l };
}

/** {status, now, kind, member, since, reason, ...} → transitions. */
function transitionsOf(reply: (string | number)[]): UserTransition[] {
  const at = Number(reply[1]);
  const transitions: UserTransition[] = [];
  for (let i = 2; i + 3 < reply.length; i += 4) {
    const to = reply[i] === 'online' ? 'online' : 'offline';
    const since = Number(reply[i + 2]);
    const reason = String(reply[i + 3]);
    transitions.push(to === 'online' ? { to, member: String(reply[i + 1]), since, at } : { to, member: String(reply[i + 1]), since, at, reason });
  }
  return transitions;
}
