import { EventEmitter2 } from '@nestjs/event-emitter';
import { WebSocket } from 'ws';
import { ClusterTopicsBridge } from '../../src/cluster/cluster-topics.bridge';
import { ClusterKeys } from '../../src/cluster/cluster.constants';
import type { ClusterOptions } from '../../src/cluster/interfaces/cluster-options.interface';
import { NodeLeaseService } from '../../src/cluster/node-lease.service';
import { NodeReaper } from '../../src/cluster/node-reaper.service';
import { ClusterPresenceService } from '../../src/cluster/presence.service';
import { RedisConnection } from '../../src/cluster/redis.connection';
import { RedisTopicLog } from '../../src/cluster/redis-topic-log';
import { MemoryTopicLog } from '../../src/lifeline/history/memory-topic-log';
import { ClientRegistryService } from '../../src/lifeline/client-registry.service';
import type { ClientRecord } from '../../src/lifeline/interfaces/client-record.interface';
import {
  type ClientConnectedEvent,
  LifelineEvents,
  type TopicSubscriptionEvent,
} from '../../src/lifeline/lifeline.events';
import { TopicsService } from '../../src/lifeline/topics/topics.service';
import { REDIS_URL } from './cluster-nodes';

export function clusterOptions(prefix: string, nodeId: string, nodeTtlMs = 1500): ClusterOptions {
  return { redisUrl: REDIS_URL, nodeId, keyPrefix: prefix, nodeTtlMs, refreshMs: Math.floor(nodeTtlMs / 3) };
}

/** A socket stand-in: OPEN until closed, keeps what was sent. */
export interface FakeSocket {
  readyState: number;
  sent: string[];
  send(text: string): void;
}

export function fakeSocket(): FakeSocket {
  const socket: FakeSocket = {
    readyState: WebSocket.OPEN,
    sent: [],
    send(text: string) {
      socket.sent.push(text);
    },
  };
  return socket;
}

/**
 * The cluster services of one node, wired by hand (no Nest), on the real
 * Redis, with a real registry and topics service and fake sockets.
 */
export class UnitNode {
  readonly keys: ClusterKeys;
  readonly registry = new ClientRegistryService();
  readonly events = new EventEmitter2();
  readonly topics: TopicsService;
  readonly connection: RedisConnection;
  readonly presence: ClusterPresenceService;
  readonly reaper: NodeReaper;
  readonly lease: NodeLeaseService;
  readonly bridge: ClusterTopicsBridge;

  constructor(readonly options: ClusterOptions) {
    this.keys = new ClusterKeys(options.keyPrefix);
    this.topics = new TopicsService(this.registry, this.events);
    this.connection = new RedisConnection(options);
    this.presence = new ClusterPresenceService(options, this.keys, this.connection, this.registry);
    this.reaper = new NodeReaper(options, this.keys, this.connection, this.events);
    this.lease = new NodeLeaseService(options, this.keys, this.connection, this.presence, this.reaper);
    this.bridge = new ClusterTopicsBridge(options, this.keys, this.connection, this.topics, this.registry);
    // What @OnEvent does in the app.
    this.events.on(LifelineEvents.connected, (e: ClientConnectedEvent) => this.presence.onConnected(e));
    this.events.on(LifelineEvents.topicSubscribed, (e: TopicSubscriptionEvent) => this.presence.onSubscribed(e));
    this.events.on(LifelineEvents.topicUnsubscribed, (e: TopicSubscriptionEvent) => this.presence.onUnsubscribed(e));
  }

  /** Connects and registers (no timer unless `renew`). */
  static async start(options: ClusterOptions, { renew = false, bridge = false } = {}): Promise<UnitNode> {
    const node = new UnitNode(options);
    if (bridge) {
      // What ClusterStores does at module init: history in Redis; the bridge delivers what it publishes.
      const { history } = node.topics;
      const fallback = new MemoryTopicLog(history, (t, f, o) => node.topics.deliver(t, f, o), 60_000, 'local-');
      node.topics.useLog(new RedisTopicLog(node.connection, node.keys, history, 60_000, fallback));
      node.bridge.start();
    }
    if (!(await node.connection.connect(3000))) throw new Error(`no Redis at ${options.redisUrl}`);
    await node.lease.settled();
    if (renew) node.lease.start();
    return node;
  }

  /** Registers a client on a fake socket and announces it, as LifecycleService.open does. */
  connect(): { record: ClientRecord; socket: FakeSocket } {
    const socket = fakeSocket();
    const record = this.registry.register(socket as unknown as WebSocket);
    const event: ClientConnectedEvent = {
      clientId: record.id,
      remoteAddress: undefined,
      userAgent: undefined,
      connectedAt: record.connectedAt,
    };
    this.events.emit(LifelineEvents.connected, event);
    return { record, socket };
  }

  /** What the cleanup pipeline does with the client's resources. */
  async disconnect(record: ClientRecord): Promise<void> {
    this.registry.unregister(record.id);
    for (const resource of this.registry.takeResources(record)) await resource.dispose('client_close', record);
  }

  async close({ leave = true } = {}): Promise<void> {
    if (leave) await this.lease.leave();
    else await this.lease.stop();
    this.bridge.stop();
    await this.connection.close();
  }
}
