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

/** What one renewal did; see NodeLeaseService.renew(). */
export type RenewalOutcome = 'renewed' | 'failed' | 'idle';

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
 * This node's membership: a lease key with a TTL of NODE_TTL_MS, and two
 * timers, each every TTL/3:
 *
 * - renewal: one small Lua claim on the `lease` connection, which carries
 *   nothing but liveness traffic, so it never waits behind this node's
 *   presence or session writes. The next renewal is timed from when the last
 *   one was sent; one that failed (a timeout, an error) is retried after
 *   a short pause, not a whole period later.
 * - maintenance: the dead-node check (NodeReaper, also on `lease`), and the
 *   full rewrite below when the presence is dirty or unregistered, started
 *   without holding either timer up.
 *
 * register() is the full (re)write, one MULTI on `commands`: lease,
 * membership in the nodes set, and the node's presence hash replaced by the
 * local clients. It runs on every (re)connect to Redis, when a renewal finds
 * the lease gone (Redis lost its data, or the node was reaped after a stall),
 * and when a presence write failed. leave() removes all of it at once on
 * shutdown.
 */
@Injectable()
export class NodeLeaseService {
  private readonly logger = new LifelineLogger('Cluster');
  private readonly leaseValue: string;
  private renewTimer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private renewInFlight: Promise<RenewalOutcome> | undefined;
  private maintenanceInFlight: Promise<void> | undefined;
  private syncInFlight: Promise<void> | undefined;
  private syncAgain = false;
  private registered = false;
  private renewFailureLogged = false;
  private maintenanceFailureLogged = false;
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

  /** Starts the renewal and maintenance timers (the first registration runs on connect). */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.scheduleRenewal(this.options.refreshMs);
    this.scheduleMaintenance(this.options.refreshMs);
  }

  /** Stops the timers and waits for the work under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    clearTimeout(this.renewTimer);
    clearTimeout(this.maintenanceTimer);
    this.renewTimer = this.maintenanceTimer = undefined;
    await this.renewInFlight;
    await this.maintenanceInFlight;
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

  /**
   * One renewal on the lease connection: 'renewed' if the lease is this
   * node's now, 'failed' if the command failed (retried soon), 'idle' if
   * Redis is away or another process holds the lease (next period). A lapsed
   * lease (reaped, or Redis lost it) is taken again here at once, and the
   * full rewrite started.
   */
  async renew(): Promise<RenewalOutcome> {
    if (!this.connection.up) return 'idle';
    try {
      const previous = await this.claim();
      this.renewFailureLogged = false;
      if (previous === 'taken') {
        this.registered = false;
        return 'idle';
      }
      if (previous === 'free') {
        if (this.registered) {
          this.logger.warn({
            msg: 'lease had expired (redis lost it, or this node stalled and was reaped); registering again',
            node: this.options.nodeId,
          });
        }
        this.presence.dirty = true;
        void this.sync().catch(() => undefined);
      }
      return 'renewed';
    } catch (err) {
      if (!this.renewFailureLogged) {
        this.renewFailureLogged = true;
        this.logger.warn({ msg: 'lease renewal failed; retrying', node: this.options.nodeId, error: errorText(err) });
      }
      return 'failed';
    }
  }

  /**
   * Starts the full rewrite if one is due, then checks for dead nodes. The
   * rewrite (on the commands connection, which may be busy) is not awaited,
   * so a backlog there never delays the reaping of dead nodes.
   */
  async maintain(): Promise<void> {
    if (!this.connection.up) return;
    if ((this.presence.dirty || !this.registered) && !this.syncInFlight) void this.sync().catch(() => undefined);
    try {
      await this.reaper.reapDeadNodes();
      this.maintenanceFailureLogged = false;
    } catch (err) {
      if (!this.maintenanceFailureLogged) {
        this.maintenanceFailureLogged = true;
        this.logger.warn({ msg: 'dead-node check failed', node: this.options.nodeId, error: errorText(err) });
      }
    }
  }

  /** What both timers do, in one call, waiting also for a rewrite they started (tests, tools). */
  async tick(): Promise<void> {
    await this.renew();
    await this.maintain();
    await this.settled();
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
    const reply = await this.connection.lease.eval(CLAIM_LEASE_LUA, 1, this.keys.lease(node), this.leaseValue, this.options.nodeTtlMs);
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

  /**
   * The next renewal one refresh period after the last one was sent; after a
   * failure (its timeout already waited, see leaseCommandTimeoutMs) a short
   * pause, so the retry comes well inside the TTL.
   */
  private scheduleRenewal(delayMs: number): void {
    if (!this.running) return;
    this.renewTimer = setTimeout(() => {
      const sentAt = Date.now();
      this.renewInFlight = this.renew();
      void this.renewInFlight.then((outcome) => {
        this.renewInFlight = undefined;
        const retryMs = Math.min(100, Math.ceil(this.options.refreshMs / 4));
        this.scheduleRenewal(outcome === 'failed' ? retryMs : Math.max(0, sentAt + this.options.refreshMs - Date.now()));
      });
    }, delayMs);
  }

  /** Fixed-rate schedule; a slow check delays the next one instead of overlapping it. */
  private scheduleMaintenance(delayMs: number): void {
    if (!this.running) return;
    this.maintenanceTimer = setTimeout(() => {
      const startedAt = Date.now();
      this.maintenanceInFlight = this.maintain().finally(() => {
        this.maintenanceInFlight = undefined;
        this.scheduleMaintenance(Math.max(0, this.options.refreshMs - (Date.now() - startedAt)));
      });
    }, delayMs);
  }
}
