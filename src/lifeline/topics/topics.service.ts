import { Injectable } from '@nestjs/common';
import { WebSocket } from 'ws';
import { ClientRegistryService } from '../client-registry.service';
import type { ClientRecord } from '../interfaces/client-record.interface';

const resourceName = (topic: string) => `topic:${topic}`;

/**
 * Topic subscriptions, kept as a per-client resource like any extension's:
 * each subscription attaches a disposer to the client, so the cleanup
 * pipeline removes it on every disconnect path.
 */
@Injectable()
export class TopicsService {
  private readonly subscribers = new Map<string, Set<ClientRecord>>();

  constructor(private readonly registry: ClientRegistryService) {}

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
    return true;
  }

  /** Idempotent. */
  unsubscribe(client: ClientRecord, topic: string): void {
    this.registry.detach(client.id, resourceName(topic));
    this.remove(topic, client);
  }

  /**
   * Sends to every live subscriber; returns how many got it. The frame is
   * serialised once, not once per subscriber.
   */
  publish(topic: string, data: unknown): number {
    const set = this.subscribers.get(topic);
    if (!set) return 0;
    const frame = JSON.stringify({ event: 'message', data: { topic, data } });
    let delivered = 0;
    for (const client of set) {
      // Unregistered clients are on their way out; their release step is pending.
      if (client.socket.readyState !== WebSocket.OPEN || !this.registry.has(client.id)) continue;
      client.socket.send(frame);
      delivered++;
    }
    return delivered;
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
    if (!set) return;
    set.delete(client);
    if (set.size === 0) this.subscribers.delete(topic);
  }
}
