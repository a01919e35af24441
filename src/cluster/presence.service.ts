import { Inject, Injectable, Optional } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ClientRegistryService } from '../lifeline';
import {
  type ClientConnectedEvent,
  LifelineEvents,
  type TopicSubscriptionEvent,
} from '../lifeline';
import { BackpressureService, type ClientResource, sendFrame } from '../lifeline';
import { CLUSTER_OPTIONS, ClusterKeys, PRESENCE_RESOURCE } from './cluster.constants';
import type {
  ClusterClientView,
  ClusterView,
  OutboundFrame,
} from './interfaces/cluster-client-view.interface';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { RedisConnection } from './redis.connection';
import { LifelineLogger } from '../lifeline';

/** What this node knows of one of its own clients. */
interface LocalPresence {
  connectedAt: number;
  userId: string | null;
  subscriptions: Set<string>;
}

/**
 * The stored value: the hash field is the client id and the hash names the
 * node. Subscriptions are fields of the node's subscriptions hash (see
 * subscriptionField); older entries carried them here, and are still read.
 */
interface StoredPresence {
  connectedAt: number;
  userId: string | null;
  subscriptions?: string[];
}

/** Subscriptions hash field of one subscription. Topics hold no white space, so the space separates. */
export function subscriptionField(clientId: string, topic: string): string {
  return `${clientId} ${topic}`;
}

/** Redis arguments per HDEL/HSET when a client's many subscriptions are written at once. */
const FIELDS_PER_COMMAND = 1000;

/** What a full rewrite of this node's presence writes. */
export interface PresenceSnapshot {
  /** [client id, stored value] */
  clients: [string, string][];
  /** subscriptions hash fields (value "1") */
  subscriptions: string[];
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

function encode(entry: LocalPresence): string {
  const stored: StoredPresence = { connectedAt: entry.connectedAt, userId: entry.userId };
  return JSON.stringify(stored);
}

/**
 * Parses a stored value; tolerates damage (a bad entry is shown with what
 * could be read). `subscriptions`: the client's fields of the subscriptions
 * hash, when read.
 */
export function decodePresence(id: string, node: string, value: string, subscriptions?: string[]): ClusterClientView {
  let stored: Partial<StoredPresence> = {};
  try {
    stored = JSON.parse(value) as Partial<StoredPresence>;
  } catch {
    // keep the defaults below
  }
  return {
    id,
    node,
    userId: typeof stored.userId === 'string' ? stored.userId : null,
    connectedAt: typeof stored.connectedAt === 'number' ? stored.connectedAt : 0,
    subscriptions:
      subscriptions ?? (Array.isArray(stored.subscriptions) ? stored.subscriptions.filter((s) => typeof s === 'string') : []),
  };
}

/** client id → its topics, from a node's subscriptions hash. */
function topicsByClient(hash: Record<string, string>): Map<string, string[]> {
  const byClient = new Map<string, string[]>();
  for (const field of Object.keys(hash)) {
    const space = field.indexOf(' ');
    if (space < 0) continue;
    const id = field.slice(0, space);
    const topics = byClient.get(id);
    if (topics) topics.push(field.slice(space + 1));
    else byClient.set(id, [field.slice(space + 1)]);
  }
  return byClient;
}

/**
 * Cluster-wide presence: every client of this node has an entry in the
 * node's hash, written on connect and removed by the cleanup pipeline (the
 * `presence` resource); each subscription is one field of the node's
 * subscriptions hash, so a (un)subscribe writes one field (HSET/HDEL), not
 * the client's entry: 10,000 subscriptions cost 10,000 small writes, not
 * 10,000 rewrites of a list growing to 10,000 topics. Reads consider only
 * nodes whose lease is alive, so the clients of a dead node vanish from every
 * view the moment its lease expires, reaped or not.
 *
 * Writes that cannot reach Redis mark the presence dirty; NodeLeaseService
 * then rewrites the node's whole hash from the local map when Redis is back.
 *
 * Public API for controllers: listClients(), view(), sendTo().
 */
@Injectable()
export class ClusterPresenceService {
  private readonly logger = new LifelineLogger('Cluster');
  private readonly local = new Map<string, LocalPresence>();
  private readonly ownKey: string;
  private readonly ownSubscriptionsKey: string;
  private writeFailureLogged = false;
  /** One resource object for every client (its disposer gets the record): no closure per client. */
  private readonly resource: ClientResource = {
    name: PRESENCE_RESOURCE,
    dispose: (_reason, record) => record && this.release(record.id),
  };
  /** Redis may lack or hold stale entries of this node; a full rewrite is due. */
  dirty = true;

  constructor(
    @Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions,
    private readonly keys: ClusterKeys,
    private readonly connection: RedisConnection,
    private readonly registry: ClientRegistryService,
    @Optional() private readonly backpressure?: BackpressureService,
  ) {
    this.ownKey = keys.clients(options.nodeId);
    this.ownSubscriptionsKey = keys.subscriptions(options.nodeId);
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Clients of this node that have a presence entry. */
  get localCount(): number {
    return this.local.size;
  }

  @OnEvent(LifelineEvents.connected)
  onConnected(event: ClientConnectedEvent): void {
    const record = this.registry.get(event.clientId);
    // Already gone: nothing was written, nothing to release.
    if (!record) return;
    const entry: LocalPresence = {
      connectedAt: event.connectedAt,
      userId: record.userId ?? null,
      subscriptions: new Set(),
    };
    this.local.set(event.clientId, entry);
    if (this.registry.attachResource(record, this.resource)) {
      this.write(event.clientId, (redis) => redis.hset(this.ownKey, event.clientId, encode(entry)));
    }
  }

  @OnEvent(LifelineEvents.topicSubscribed)
  onSubscribed({ clientId, topic }: TopicSubscriptionEvent): void {
    const entry = this.local.get(clientId);
    if (!entry || entry.subscriptions.has(topic)) return;
    entry.subscriptions.add(topic);
    if (this.registry.has(clientId)) {
      this.write(clientId, (redis) => redis.hset(this.ownSubscriptionsKey, subscriptionField(clientId, topic), '1'));
    }
  }

  @OnEvent(LifelineEvents.topicUnsubscribed)
  onUnsubscribed({ clientId, topic }: TopicSubscriptionEvent): void {
    // A client on its way out keeps its local entry whole: release() deletes
    // every field it lists, in one transaction, a moment later.
    if (!this.registry.has(clientId)) return;
    const entry = this.local.get(clientId);
    if (!entry?.subscriptions.delete(topic)) return;
    this.write(clientId, (redis) => redis.hdel(this.ownSubscriptionsKey, subscriptionField(clientId, topic)));
  }

  /**
   * The cleanup step: forgets the client here and in Redis. A failed delete
   * throws, so the pipeline logs and counts it; the rewrite that follows
   * (dirty) removes the entry anyway. With Redis away there is nothing to
   * try: the rewrite on reconnect is built from the local map, which no
   * longer has the client.
   */
  async release(clientId: string): Promise<void> {
    const entry = this.local.get(clientId);
    this.local.delete(clientId);
    if (!this.connection.up) {
      this.dirty = true;
      return;
    }
    try {
      const multi = this.connection.commands.multi().hdel(this.ownKey, clientId);
      const fields = [...(entry?.subscriptions ?? [])].map((topic) => subscriptionField(clientId, topic));
      for (let i = 0; i < fields.length; i += FIELDS_PER_COMMAND) {
        multi.hdel(this.ownSubscriptionsKey, ...fields.slice(i, i + FIELDS_PER_COMMAND));
      }
      const results = await multi.exec();
      const failed = results?.find(([err]) => err !== null);
      if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  /** Every local client's entry and subscription fields, for a full rewrite. */
  snapshot(): PresenceSnapshot {
    const clients: [string, string][] = [];
    const subscriptions: string[] = [];
    for (const [id, entry] of this.local) {
      clients.push([id, encode(entry)]);
      for (const topic of entry.subscriptions) subscriptions.push(subscriptionField(id, topic));
    }
    return { clients, subscriptions };
  }

  /** Ids of the nodes whose lease is alive (this one included if registered). */
  async liveNodes(): Promise<string[]> {
    const redis = this.connection.commands;
    const members = await redis.smembers(this.keys.nodes);
    if (members.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const node of members) pipeline.exists(this.keys.lease(node));
    const results = await execPipeline(pipeline);
    return members.filter((_, i) => results[i] === 1);
  }

  /** Live nodes and the clients they hold; entries of lapsed leases are not counted. */
  async view(): Promise<ClusterView> {
    const nodes = await this.liveNodes();
    if (nodes.length === 0) return { nodes: 0, clients: 0 };
    const pipeline = this.connection.commands.pipeline();
    for (const node of nodes) pipeline.hlen(this.keys.clients(node));
    const counts = await execPipeline(pipeline);
    return { nodes: nodes.length, clients: counts.reduce<number>((sum, n) => sum + Number(n), 0) };
  }

  /** Every client of every node with a live lease. Rejects while Redis is unavailable. */
  async listClients(): Promise<ClusterClientView[]> {
    const nodes = await this.liveNodes();
    if (nodes.length === 0) return [];
    const pipeline = this.connection.commands.pipeline();
    for (const node of nodes) pipeline.hgetall(this.keys.clients(node)).hgetall(this.keys.subscriptions(node));
    const hashes = await execPipeline(pipeline);
    const clients: ClusterClientView[] = [];
    nodes.forEach((node, i) => {
      const topics = topicsByClient(hashes[2 * i + 1] as Record<string, string>);
      for (const [id, value] of Object.entries(hashes[2 * i] as Record<string, string>)) {
        clients.push(decodePresence(id, node, value, topics.get(id) ?? []));
      }
    });
    return clients;
  }

  /** The live node holding the client, or undefined. */
  async ownerOf(clientId: string): Promise<string | undefined> {
    if (this.registry.has(clientId)) return this.options.nodeId;
    const nodes = await this.liveNodes();
    if (nodes.length === 0) return undefined;
    const pipeline = this.connection.commands.pipeline();
    for (const node of nodes) pipeline.hexists(this.keys.clients(node), clientId);
    const found = await execPipeline(pipeline);
    return nodes.find((_, i) => found[i] === 1);
  }

  /**
   * Sends a frame to a client wherever it is connected: directly if it is
   * here, else through the holding node's inbox channel. Resolves true when
   * the frame was sent here or handed to the live node that holds the
   * client, false when no live node holds it (or Redis is unavailable and
   * the client is not local). Delivery on the other node is best effort:
   * the client may leave in the meantime.
   */
  async sendTo(clientId: string, frame: OutboundFrame): Promise<boolean> {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    const record = this.registry.get(clientId);
    if (record) return sendFrame(record, text, this.backpressure);
    if (clientId.includes('\n') || !this.connection.up) return false;
    const owner = await this.ownerOf(clientId);
    if (owner === undefined || owner === this.options.nodeId) return false;
    const receivers = await this.connection.commands.publish(this.keys.inbox(owner), `${clientId}\n${text}`);
    return receivers > 0;
  }

  /** One small write; with Redis away (or failing), leave it to the rewrite. */
  private write(clientId: string, command: (redis: RedisConnection['commands']) => Promise<unknown>): void {
    if (!this.connection.up) {
      this.dirty = true;
      return;
    }
    command(this.connection.commands).then(
      () => (this.writeFailureLogged = false),
      (err: unknown) => {
        this.dirty = true;
        if (this.writeFailureLogged) return;
        this.writeFailureLogged = true;
        this.logger.warn({ msg: 'presence write failed; rewriting when redis answers', clientId, error: errorText(err) });
      },
    );
  }
}

/** Runs a pipeline; rejects with the first command error, else returns the results. */
export async function execPipeline(pipeline: ReturnType<RedisConnection['commands']['pipeline']>): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new Error('pipeline aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
