import { Inject, Injectable, Optional } from '@nestjs/common';
import { ClientRegistryService } from '../lifeline';
import { BackpressureService, sendFrame } from '../lifeline';
import { FANOUT_SENDS_PER_TURN, type TopicBus, TopicsService } from '../lifeline';
import { CLUSTER_OPTIONS, ClusterKeys } from './cluster.constants';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { RedisConnection } from './redis.connection';
import { LifelineLogger } from '../lifeline';
import { decodeLogMessage } from './redis-topic-log';

/**
 * Carries publishes and direct frames between nodes over Redis pub/sub.
 *
 * Topics: one channel (`<p>topics`) that every node subscribes to once. The
 * RedisTopicLog's append script assigns a publish its offset, stores it and
 * publishes it here in one atomic step; every node — the origin included —
 * delivers what arrives to its own subscribers, so all see one order and
 * each subscriber gets a message once. While Redis is away a publish still
 * reaches this node's subscribers (RedisTopicLog's local fallback).
 *
 * Direct frames (ClusterPresenceService.sendTo): each node listens on its
 * own inbox channel (`<p>node:<id>:inbox`) and sends what arrives to the
 * named client if it is still here.
 */
@Injectable()
export class ClusterTopicsBridge implements TopicBus {
  private readonly logger = new LifelineLogger('Cluster');
  private readonly inbox: string;
  private readonly listener = (channel: string, message: string) => this.onMessage(channel, message);
  private started = false;
  readonly transport = 'redis';
  /** Messages from the topics channel delivered here (counted once per message, not per subscriber). */
  received = 0;

  constructor(
    @Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions,
    private readonly keys: ClusterKeys,
    private readonly connection: RedisConnection,
    private readonly topics: TopicsService,
    private readonly registry: ClientRegistryService,
    @Optional() private readonly backpressure?: BackpressureService,
  ) {
    this.inbox = keys.inbox(options.nodeId);
  }

  /** Subscribes (kept across reconnects by ioredis) and takes over TopicsService's bus. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.connection.subscriber.on('message', this.listener);
    this.connection.subscriber.subscribe(this.keys.topics, this.inbox).catch((err: unknown) => {
      this.logger.warn({ msg: 'subscribe failed', error: err instanceof Error ? err.message : String(err) });
    });
    this.topics.setBus(this);
    // A burst of big fan-outs must not hold the event loop past the lease renewal.
    this.topics.sendsPerTurn = FANOUT_SENDS_PER_TURN;
  }

  /** Publishes become local only again. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.topics.setBus(undefined);
    this.topics.sendsPerTurn = Number.POSITIVE_INFINITY;
    this.connection.subscriber.off('message', this.listener);
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.keys.topics) {
      const decoded = decodeLogMessage(message);
      if (!decoded) return;
      this.received++;
      // ioredis hands over every message of a socket read at once; deliver()
      // spreads big fan-outs over turns of the event loop, so timers (the
      // lease renewal above all) still run during a burst.
      this.topics.deliver(decoded.topic, decoded.frame, decoded.offset);
      return;
    }
    if (channel === this.inbox) {
      const newline = message.indexOf('\n');
      if (newline < 0) return;
      const record = this.registry.get(message.slice(0, newline));
      if (record) sendFrame(record, message.slice(newline + 1), this.backpressure);
    }
  }
}
