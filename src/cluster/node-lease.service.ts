import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { CLUSTER_OPTIONS, ClusterKeys, PRESENCE_WRITE_CHUNK } from './cluster.constants';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { NodeReaper } from './node-reaper.service';
import { ClusterPresenceService } from './presence.service';
import { RedisConnection } from './redis.connection';
import { LifelineLogger } from '../lifeline';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Takes or renews the lease only if it is free or already ours:
 *   KEYS[1] the lease; ARGV[1] our lease value, ARGV[2] the TTL in ms.
 * Returns 0 if it was free (taken now), 1 if it was ours (renewed), or the
 * value of whoever else holds it (left alone).
 */
export const CLAIM_LEASE_LUA = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if current then return 1 end
return 0
`;

/** Another live process holds this node's lease: two nodes share a NODE_ID. */
export class NodeIdInUseError extends Error {
  constructor(
    readonly nodeId: string,
    readonly holder: string,
  ) {
    super(`NODE_ID "${nodeId}" is in use by another live process (${describeHolder(holder)}); give every node its own NODE_ID`);
    this.name = 'NodeIdInUseError';
  }
}

/** `host pid N` from a lease value, or the raw value. */
function describeHolder(value: string): string {
  try {
    const { host, pid } = JSON.parse(value) as { host?: unknown; pid?: unknown };
    return `host ${String(host)}, pid ${String(pid)}`;
  } catch {
    return value;
  }
}

/**
 * This node's membership: a lease key with a TTL of NODE_TTL_MS, renewed
 * every TTL/3 by a timer that also looks for dead nodes (NodeReaper).
 *
 * register() is the full (re)write, one MULTI: lease, membership in the
 * nodes set, and the node's presence hash replaced by the local clients. It
 * runs on every (re)connect to Redis, when a renewal finds the lease gone
 * (Redis lost its data, or the node was reaped after a stall), and when a
 * presence write failed. leave() removes all of it at once on shutdown.
 */
@Injectable()
export class NodeLeaseService {
  private readonly logger = new LifelineLogger('Cluster');
  private readonly leaseValue: string;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private tickInFlight: Promise<void> | undefined;
  private syncInFlight: Promise<void> | undefined;
  private syncAgain = false;
  private registered = false;
  private tickFailureLogged = false;
  /** Set while another process holds this node's lease (a duplicate NODE_ID); cleared once it is ours again. */
  private conflict: NodeIdInUseError | undefined;

  constructor(
    @Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions,
    private readonly keys: ClusterKeys,
    private readonly connection: RedisConnection,
    private readonly presence: ClusterPresenceService,
    private readonly reaper: NodeReaper,
  ) {
    // The instance id makes the value unique to this process, so a lease held by another process
    // with the same NODE_ID (same host and pid in another container, even) is told apart.
    this.leaseValue = JSON.stringify({ host: hostname(), pid: process.pid, since: Date.now(), instance: randomUUID() });
    connection.onReadyEvent(() => void this.sync().catch(() => undefined));
    connection.onDownEvent(() => {
      this.registered = false;
      this.presence.dirty = true;
    });
  }

  /** Whether the last register() or renewal succeeded and no outage began since. */
  get isRegistered(): boolean {
    return this.registered;
  }

  /** The duplicate-NODE_ID conflict found by the last registration or renewal, if any. */
  get nodeIdConflict(): NodeIdInUseError | undefined {
    return this.conflict;
  }

  /** Starts the renewal timer (the first registration runs on connect). */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.schedule();
  }

  /** Stops the timer and waits for a tick under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.tickInFlight;
    await this.syncInFlight?.catch(() => undefined);
  }

  /**
   * Full (re)registration. Calls made while one runs are merged into one
   * more run after it, so the last one always sees the latest local state.
   */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.syncAgain = true;
    this.syncInFlight ??= (async () => {
      try {
        while (this.syncAgain && !this.stopped) {
          this.syncAgain = false;
          await this.register();
        }
      } finally {
        this.syncInFlight = undefined;
      }
    })();
    return this.syncInFlight;
  }

  /** Resolves when the registration under way (if any) has finished; never rejects. */
  async settled(): Promise<void> {
    await this.syncInFlight?.catch(() => undefined);
  }

  /** One renewal and dead-node check; the timer calls it every refresh period. */
  async tick(): Promise<void> {
    if (!this.connection.up) return;
    try {
      if (this.presence.dirty || !this.registered) {
        await this.sync();
      } else {
        const previous = await this.claim();
        if (previous === 'taken') {
          this.registered = false;
        } else if (previous === 'free') {
          this.logger.warn({
            msg: 'lease had expired (redis lost it, or this node stalled and was reaped); registering again',
            node: this.options.nodeId,
          });
          await this.sync();
        }
      }
      await this.reaper.reapDeadNodes();
      this.tickFailureLogged = false;
    } catch (err) {
      if (!this.tickFailureLogged) {
        this.tickFailureLogged = true;
        this.logger.warn({ msg: 'lease renewal or dead-node check failed', node: this.options.nodeId, error: errorText(err) });
      }
    }
  }

  /** Graceful exit: lease, membership and presence go at once, so nobody waits for the TTL. */
  async leave(): Promise<boolean> {
    await this.stop();
    if (!this.connection.up) return false;
    const node = this.options.nodeId;
    if (this.conflict) {
      // The keys are the other process's now: leave them to it.
      this.logger.warn({ msg: 'not removing lease and presence: another process holds this NODE_ID', node });
      return false;
    }
    try {
      const results = await this.connection.commands
        .multi()
        .unlink(this.keys.clients(node), this.keys.subscriptions(node))
        .del(this.keys.lease(node))
        .srem(this.keys.nodes, node)
        .exec();
      const failed = results?.find(([err]) => err !== null);
      if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
      this.registered = false;
      return true;
    } catch (err) {
      this.logger.warn({ msg: 'could not leave the cluster; the lease will expire', node, error: errorText(err) });
      return false;
    }
  }

  /**
   * Takes or renews the lease unless another process holds it. 'taken'
   * records the conflict and logs it (once per conflict) at error level.
   */
  private async claim(): Promise<'free' | 'ours' | 'taken'> {
    const node = this.options.nodeId;
    const reply = await this.connection.commands.eval(CLAIM_LEASE_LUA, 1, this.keys.lease(node), this.leaseValue, this.options.nodeTtlMs);
    if (reply === 0 || reply === 1) {
      if (this.conflict) this.logger.log({ msg: 'lease is this node\'s again', node });
      this.conflict = undefined;
      return reply === 0 ? 'free' : 'ours';
    }
    const holder = String(reply);
    if (this.conflict?.holder !== holder) {
      this.conflict = new NodeIdInUseError(node, holder);
      this.logger.error({ msg: this.conflict.message, node, holder });
    }
    return 'taken';
  }

  private async register(): Promise<void> {
    if (!this.connection.up) return;
    const node = this.options.nodeId;
    // Never over another process's lease: it would take over its presence too.
    if ((await this.claim()) === 'taken') {
      this.registered = false;
      this.presence.dirty = true;
      return;
    }
    // Cleared before the snapshot: a write failing after it sets it again.
    this.presence.dirty = false;
    const { clients: entries, subscriptions } = this.presence.snapshot();
    const multi = this.connection.commands
      .multi()
      .set(this.keys.lease(node), this.leaseValue, 'PX', this.options.nodeTtlMs)
      .sadd(this.keys.nodes, node)
      .del(this.keys.clients(node), this.keys.subscriptions(node));
    for (let i = 0; i < entries.length; i += PRESENCE_WRITE_CHUNK) {
      multi.hset(this.keys.clients(node), Object.fromEntries(entries.slice(i, i + PRESENCE_WRITE_CHUNK)));
    }
    for (let i = 0; i < subscriptions.length; i += PRESENCE_WRITE_CHUNK) {
      const chunk = subscriptions.slice(i, i + PRESENCE_WRITE_CHUNK);
      multi.hset(this.keys.subscriptions(node), Object.fromEntries(chunk.map((field) => [field, '1'])));
    }
    try {
      const results = await multi.exec();
      const failed = results?.find(([err]) => err !== null);
      if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
      this.registered = true;
      this.logger.log({ msg: 'node registered', node, clients: entries.length, ttlMs: this.options.nodeTtlMs });
    } catch (err) {
      this.presence.dirty = true;
      this.registered = false;
      this.logger.warn({ msg: 'node registration failed; retrying', node, error: errorText(err) });
      throw err;
    }
  }

  /** Fixed-rate schedule; a slow tick delays the next one instead of overlapping it. */
  private schedule(delayMs = this.options.refreshMs): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      const startedAt = Date.now();
      this.tickInFlight = this.tick().finally(() => {
        this.tickInFlight = undefined;
        this.schedule(Math.max(0, this.options.refreshMs - (Date.now() - startedAt)));
      });
    }, delayMs);
  }
}
