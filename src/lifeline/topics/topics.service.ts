import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { WebSocket } from 'ws';
import { ClientRegistryService } from '../client-registry.service';
import type { ClientRecord } from '../interfaces/client-record.interface';
import { LifelineEvents, type TopicSubscriptionEvent } from '../lifeline.events';
import { BackpressureService } from '../limits/backpressure.service';

const resourceName = (topic: string) => `topic:${topic}`;

function sendIfOpen(client: ClientRecord, frame: string): boolean {
  if (client.socket.readyState !== WebSocket.OPEN) return false;
  client.socket.send(frame);
  return true;
}

/** The frame every subscriber of `topic` gets for a publish of `data`. */
export function messageFrame(topic: string, data: unknown): string {
  return JSON.stringify({ event: 'message', data: { topic, data } });
}

/**
 * Carries a publish beyond this process. TopicsService delivers to its own
 * subscribers itself, then hands the serialised frame to the bus, if one is
 * set; the bus must deliver it to the subscribers of every *other* node once
 * (each of them calls deliverFrame() there). Cluster mode sets one; without
 * a bus a publish is local, as in the in-memory mode.
 */
export interface TopicBus {
  forward(topic: string, frame: string): void;
}

/**
 * Topic subscriptions, kept as a per-client resource like any extension's:
 * each subscription attaches a disposer to the client, so the cleanup
 * pipeline removes it on every disconnect path.
 */
@Injectable()
export class TopicsService {
  private readonly subscribers = new Map<string, Set<ClientRecord>>();
  private bus: TopicBus | undefined;

  constructor(
    private readonly registry: ClientRegistryService,
    /** Optional so the service also works outside Nest (specs); emits subscription changes. */
    @Optional() @Inject(EventEmitter2) private readonly events?: EventEmitter2,
    /** Watches for slow consumers; optional so specs can use the service alone. */
    @Optional() private readonly backpressure?: BackpressureService,
  ) {}

  /** Idempotent. Returns false if the client is no longer live. */
  subscribe(client: ClientRecord, topic: string): boolean {
    if (!this.registry.has(client.id)) return false;
    if (this.subscribers.get(topic)?.has(client)) return true;
    if (!this.registry.attach(client.id, resourceName(topic), () => this.remove(topic, client))) {
      return false;
    }
    let set = this.subscribers.get(topic);
    if (!set) {
      set = new Set();
      this.subscribers.set(topic, set);
    }
    set.add(client);
    this.emit(LifelineEvents.topicSubscribed, client, topic);
    return true;
  }

  /** Idempotent. */
  unsubscribe(client: ClientRecord, topic: string): void {
    this.registry.detach(client.id, resourceName(topic));
    this.remove(topic, client);
  }

  /**
   * Publishes to every subscriber: this node's at once, every other node's
   * through the bus (cluster mode). Returns how many subscribers on this node
   * got it. The frame is serialised once, not once per subscriber.
   */
  publish(topic: string, data: unknown): number {
    // Nothing to serialise for nobody: no local subscriber and no other node.
    if (!this.bus && !this.subscribers.has(topic)) return 0;
    const frame = messageFrame(topic, data);
    const delivered = this.deliverFrame(topic, frame);
    this.bus?.forward(topic, frame);
    return delivered;
  }

  /** Sends to this node's live subscribers only, never through the bus; returns how many got it. */
  deliverLocal(topic: string, data: unknown): number {
    if (!this.subscribers.has(topic)) return 0;
    return this.deliverFrame(topic, messageFrame(topic, data));
  }

  /**
   * Sends an already serialised frame (see messageFrame) to this node's live
   * subscribers of `topic`; a bus calls this for publishes from other nodes.
   */
  deliverFrame(topic: string, frame: string): number {
    const set = this.subscribers.get(topic);
    if (!set) return 0;
    let delivered = 0;
    for (const client of set) {
      // Unregistered clients are on their way out; their release step is pending.
      if (!this.registry.has(client.id)) continue;
      if (this.backpressure ? this.backpressure.send(client, frame) : sendIfOpen(client, frame)) delivered++;
    }
    return delivered;
  }

  /** Routes publishes to other nodes too (cluster mode); undefined = local only. */
  setBus(bus: TopicBus | undefined): void {
    this.bus = bus;
  }

  /** Whether publishes currently go beyond this node. */
  get distributed(): boolean {
    return this.bus !== undefined;
  }

  subscriberCount(topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  /** Number of topics with at least one subscriber. */
  get topicCount(): number {
    return this.subscribers.size;
  }

  private remove(topic: string, client: ClientRecord): void {
    const set = this.subscribers.get(topic);
    if (!set?.delete(client)) return;
    if (set.size === 0) this.subscribers.delete(topic);
    this.emit(LifelineEvents.topicUnsubscribed, client, topic);
  }

  private emit(event: string, client: ClientRecord, topic: string): void {
    if (!this.events) return;
    const payload: TopicSubscriptionEvent = { clientId: client.id, topic };
    this.events.emit(event, payload);
  }
}
