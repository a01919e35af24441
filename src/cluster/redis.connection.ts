import { Inject, Injectable } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTER_OPTIONS } from './cluster.constants';
import { redactRedisUrl } from './cluster.options';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { LifelineLogger } from '../lifeline';

type ConnectionName = 'commands' | 'subscriber';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The node's two Redis connections: `commands` for reads and writes, and
 * `subscriber` for pub/sub (a subscribed connection can do nothing else).
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
  readonly subscriber: Redis;
  private readonly logger = new LifelineLogger('Cluster');
  private readonly readyListeners: (() => void)[] = [];
  private readonly downListeners: (() => void)[] = [];
  /** Per connection: true from the first failure of an outage until it is ready again. */
  private readonly outage: Record<ConnectionName, boolean> = { commands: false, subscriber: false };
  private closing = false;

  constructor(@Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions) {
    const base: RedisOptions = {
      lazyConnect: true,
      connectionName: `lifeline-${options.nodeId}`,
      connectTimeout: Math.max(500, Math.min(options.refreshMs, 5_000)),
      retryStrategy: (attempt: number) => Math.min(50 * attempt, options.refreshMs, 1_000),
    };
    this.commands = new Redis(options.redisUrl, {
      ...base,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: Math.max(1_000, options.refreshMs),
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
      ['subscriber', this.subscriber],
    ] as const) {
      // Without a listener an 'error' event would crash the process.
      client.on('error', (err: unknown) => this.onFailure(name, err));
      client.on('close', () => this.onFailure(name, new Error('connection closed')));
      client.on('ready', () => this.onReady(name));
    }
  }

  /** The commands connection is ready: reads and writes can go through. */
  get up(): boolean {
    return this.commands.status === 'ready';
  }

  /** Both connections are ready (pub/sub included): what /health reports. */
  get healthy(): boolean {
    return this.up && this.subscriber.status === 'ready';
  }

  /** Runs on every (re)connect of the commands connection. */
  onReadyEvent(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** Runs once when an outage begins. */
  onDownEvent(listener: () => void): void {
    this.downListeners.push(listener);
  }

  /** Starts connecting; resolves once ready or after waitMs, whichever is first. Never rejects. */
  async connect(waitMs: number): Promise<boolean> {
    const ready = new Promise<void>((resolve) => this.commands.once('ready', () => resolve()));
    this.commands.connect().catch(() => undefined); // retried by retryStrategy; reported by onFailure
    this.subscriber.connect().catch(() => undefined);
    await Promise.race([ready, sleep(waitMs, undefined, { ref: false })]);
    return this.up;
  }

  /** Closes both connections: QUIT, or a hard disconnect if that takes longer than waitMs. */
  async close(waitMs = 1_000): Promise<void> {
    this.closing = true;
    await Promise.all(
      [this.commands, this.subscriber].map(async (client) => {
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
    if (connection === 'commands') for (const listener of this.readyListeners) listener();
  }

  /** Logs once per outage and connection; tells the listeners when the commands connection goes. */
  private onFailure(connection: ConnectionName, err: unknown): void {
    if (this.closing || this.outage[connection]) return;
    this.outage[connection] = true;
    this.logger.warn({
      msg: 'redis unavailable; serving local clients only until it is back',
      url: redactRedisUrl(this.options.redisUrl),
      connection,
      error: errorText(err),
    });
    if (connection === 'commands') for (const listener of this.downListeners) listener();
  }
}
