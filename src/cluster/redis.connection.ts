import { Inject, Injectable } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTER_OPTIONS } from './cluster.constants';
import { redactRedisUrl } from './cluster.options';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { LifelineLogger } from '../lifeline';

type ConnectionName = 'commands' | 'lease' | 'subscriber';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The node's three Redis connections: `commands` for reads and writes,
 * `lease` for liveness only (lease renewals and the reaper), and
 * `subscriber` for pub/sub (a subscribed connection can do nothing else).
 *
 * `lease` is separate because a connection is a FIFO: a renewal sent behind
 * thousands of presence or session writes waits for all of them, and a node
 * alive and reaching Redis would be reaped because of its own backlog. Its
 * command timeout is half a refresh period, so a lost renewal is retried
 * well inside the TTL.
 *
 * Commands fail fast while Redis is away (no offline queue, no resend of
 * commands that were in flight, a command timeout): Lifeline keeps serving
 * its local clients and rewrites its whole state when Redis is back, so a
 * queued write could only arrive stale. Reconnects are retried forever, at
 * most one refresh period apart.
 */
@Injectable()
export class RedisConnection {
  readonly commands: Redis;
  /** Lease renewals and the reaper only: small commands that must never queue behind bulk writes. */
  readonly lease: Redis;
  readonly subscriber: Redis;
  private readonly logger = new LifelineLogger('Cluster');
  private readonly readyListeners: (() => void)[] = [];
  private readonly downListeners: (() => void)[] = [];
  /** Per connection: true from the first failure of an outage until it is ready again. */
  private readonly outage: Record<ConnectionName, boolean> = { commands: false, lease: false, subscriber: false };
  /** What the ready/down listeners were last told: `up` as of the last transition. */
  private announcedUp = false;
  private closing = false;

  constructor(@Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions) {
    const base: RedisOptions = {
      lazyConnect: true,
      connectionName: `lifeline-${options.nodeId}`,
      connectTimeout: Math.max(500, Math.min(options.refreshMs, 5_000)),
      retryStrategy: (attempt: number) => Math.min(50 * attempt, options.refreshMs, 1_000),
    };
    const failFast: RedisOptions = {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    };
    this.commands = new Redis(options.redisUrl, {
      ...base,
      ...failFast,
      commandTimeout: Math.max(1_000, options.refreshMs),
    });
    this.lease = new Redis(options.redisUrl, {
      ...base,
      ...failFast,
      connectionName: `lifeline-${options.nodeId}-lease`,
      commandTimeout: leaseCommandTimeoutMs(options.refreshMs),
    });
    // Subscriptions are kept across reconnects (autoResubscribe) and may be
    // asked for before the first connect.
    this.subscriber = new Redis(options.redisUrl, {
      ...base,
      connectionName: `lifeline-${options.nodeId}-sub`,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });

    for (const [name, client] of [
      ['commands', this.commands],
      ['lease', this.lease],
      ['subscriber', this.subscriber],
    ] as const) {
      // Without a listener an 'error' event would crash the process.
      client.on('error', (err: unknown) => this.onFailure(name, err));
      client.on('close', () => this.onFailure(name, new Error('connection closed')));
      client.on('ready', () => this.onReady(name));
    }
  }

  /** The commands and lease connections are ready: reads, writes and renewals can go through. */
  get up(): boolean {
    return this.commands.status === 'ready' && this.lease.status === 'ready';
  }

  /** All three connections are ready (pub/sub included): what /health reports. */
  get healthy(): boolean {
    return this.up && this.subscriber.status === 'ready';
  }

  /** Runs each time `up` turns true (the commands and lease connections both ready again). */
  onReadyEvent(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** Runs once when an outage of the commands or lease connection begins. */
  onDownEvent(listener: () => void): void {
    this.downListeners.push(listener);
  }

  /** Starts connecting; resolves once ready or after waitMs, whichever is first. Never rejects. */
  async connect(waitMs: number): Promise<boolean> {
    const ready = Promise.all(
      [this.commands, this.lease].map((client) => new Promise<void>((resolve) => client.once('ready', () => resolve()))),
    );
    // Retried by retryStrategy; reported by onFailure.
    for (const client of [this.commands, this.lease, this.subscriber]) client.connect().catch(() => undefined);
    await Promise.race([ready, sleep(waitMs, undefined, { ref: false })]);
    return this.up;
  }

  /** Closes the connections: QUIT, or a hard disconnect if that takes longer than waitMs. */
  async close(waitMs = 1_000): Promise<void> {
    this.closing = true;
    await Promise.all(
      [this.commands, this.lease, this.subscriber].map(async (client) => {
        if (client.status === 'end') return;
        if (client.status !== 'ready') {
          client.disconnect();
          return;
        }
        const quit = client.quit().then(
          () => 'quit' as const,
          () => 'failed' as const,
        );
        if ((await Promise.race([quit, sleep(waitMs, 'timeout' as const, { ref: false })])) !== 'quit') {
          client.disconnect();
        }
      }),
    );
  }

  private onReady(connection: ConnectionName): void {
    if (this.outage[connection]) {
      this.outage[connection] = false;
      this.logger.warn({ msg: 'redis available again', url: redactRedisUrl(this.options.redisUrl), connection });
    }
    if (connection !== 'subscriber' && this.up && !this.announcedUp) {
      this.announcedUp = true;
      for (const listener of this.readyListeners) listener();
    }
  }

  /** Logs once per outage and connection; tells the listeners when the commands or lease connection goes. */
  private onFailure(connection: ConnectionName, err: unknown): void {
    if (connection !== 'subscriber' && this.announcedUp && !this.closing) {
      this.announcedUp = false;
      for (const listener of this.downListeners) listener();
    }
    if (this.closing || this.outage[connection]) return;
    this.outage[connection] = true;
    this.logger.warn({
      msg: 'redis unavailable; serving local clients only until it is back',
      url: redactRedisUrl(this.options.redisUrl),
      connection,
      error: errorText(err),
    });
  }
}

/**
 * The lease connection's command timeout: half a refresh period (at least
 * 250 ms), so a renewal lost to a timeout is retried at least twice before
 * the lease, renewed every TTL/3, can run out.
 */
export function leaseCommandTimeoutMs(refreshMs: number): number {
  return Math.max(250, Math.floor(refreshMs / 2));
}
