import { Inject, Injectable, Optional } from '@nestjs/common';
import { ClientRegistryService } from '../lifeline';
import { BackpressureService } from '../lifeline';
import { FANOUT_SENDS_PER_TURN, type TopicBus, TopicsService } from '../lifeline';
import { CLUSTER_OPTIONS, ClusterKeys } from './cluster.constants';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { sendFrame } from './presence.service';
import { RedisConnection } from './redis.connection';
import { LifelineLogger } from '../lifeline';

/** `<json [origin node, topic]>\n<frame>`: the topic may hold anything, the header is one line. */
export function encodeTopicMessage(origin: string, topic: string, frame: string): string {
  return `${JSON.stringify([origin, topic])}\n${frame}`;
}

export function decodeTopicMessage(message: string): { origin: string; topic: string; frame: string } | undefined {
  const newline = message.indexOf('\n');
  if (newline < 0) return undefined;
  try {
    const header: unknown = JSON.parse(message.slice(0, newline));
    if (!Array.isArray(header) || typeof header[0] !== 'string' || typeof header[1] !== 'string') return undefined;
    return { origin: header[0], topic: header[1], frame: message.slice(newline + 1) };
  } catch {
    return undefined;
  }
}

/**
 * Carries publishes and direct frames between nodes over Redis pub/sub.
 *
 * Topics: one channel (`<p>topics`) that every node subscribes to once. A
 * publish is delivered to this node's subscribers at once by TopicsService,
 * then forwarded here; every other node delivers it to its own subscribers
 * and the origin skips its own echo, so each subscriber gets it once. While
 * Redis is away a publish still reaches this node's subscribers.
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
  /** Publishes that could not be forwarded (Redis away); their local delivery happened. */
  unforwarded = 0;
  /** Messages from other nodes delivered here (counted once per message, not per subscriber). */
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

  /** TopicBus: hands a publish to the other nodes. Never throws. */
  forward(topic: string, frame: string): void {
    if (!this.connection.up) {
      this.unforwarded++;
      return;
    }
    this.connection.commands.publish(this.keys.topics, encodeTopicMessage(this.options.nodeId, topic, frame)).catch(() => {
      this.unforwarded++;
    });
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.keys.topics) {
      const decoded = decodeTopicMessage(message);
      if (!decoded || decoded.origin === this.options.nodeId) return;
      this.received++;
      // ioredis hands over every message of a socket read at once; deliver()
      // spreads big fan-outs over turns of the event loop, so timers (the
      // lease renewal above all) still run during a burst.
      this.topics.deliver(decoded.topic, decoded.frame);
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
