import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { CleanupPipeline } from '../cleanup/cleanup.pipeline';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ClientRecord, ClientResource } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { LifelineEvents, type TopicSubscriptionEvent } from '../lifeline.events';
import type { PresenceWatchedEvent } from '../presence/interfaces/presence.interface';
import { PresenceEvents } from '../presence/presence.constants';
import { TopicsService } from '../topics/topics.service';
import type { PublishedId, SessionOwner, SessionStore } from './interfaces/session-store.interface';
import { MemorySessionStore } from './memory-session-store';
import { hashToken, newToken } from './session-token';
import { SESSION_RESOURCE } from './sessions.constants';
import { LifelineLogger } from '../log-entry';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** What the sender of a publish with an `id` is told. */
export interface PublishAck extends PublishedId {
  id: string;
}

/**
 * Sessions: each connection gets one at its welcome (id, token, TTL), held
 * through a per-client resource (`session`) that the cleanup pipeline
 * releases like any other, which starts the TTL. The store (memory, or Redis
 * in a cluster) keeps the session's subscriptions and publish ids. Resume
 * itself is ResumeService.
 */
@Injectable()
export class SessionsService implements OnApplicationShutdown {
  private readonly logger = new LifelineLogger('Lifeline');
  private sessionStore: SessionStore;
  readonly ttlMs: number;
  /** Publishes with an id under way, by session and id: a second copy waits for the first. */
  private readonly inflight = new Map<string, Promise<PublishedId>>();
  private lastStoreWarning = 0;
  /** One resource object for every connection (its disposer gets the record): no closure per connection. */
  private readonly resource: ClientResource = { name: SESSION_RESOURCE, dispose: (_reason, record) => record && this.release(record) };

  constructor(
    @Inject(LIFELINE_OPTIONS) options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly cleanup: CleanupPipeline,
    private readonly topics: TopicsService,
  ) {
    this.ttlMs = options.sessionTtlMs;
    this.sessionStore = new MemorySessionStore(this.ttlMs);
  }

  /** False when SESSION_TTL_MS is 0. */
  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  get store(): SessionStore {
    return this.sessionStore;
  }

  /** Replaces the store (cluster mode, at module init, before any connection). */
  useStore(store: SessionStore): void {
    this.sessionStore.close();
    this.sessionStore = store;
    store.onEvict?.((clientId) => this.evict({ clientId }));
  }

  onApplicationShutdown(): void {
    this.sessionStore.close();
  }

  /**
   * Gives a new connection its session; returns the welcome's `session`
   * part as JSON, or undefined when sessions are off. The session id is the
   * connection's first client id (one string fewer per connection).
   */
  open(record: ClientRecord): string | undefined {
    if (!this.enabled) return undefined;
    const id = record.id;
    const token = newToken(id);
    record.sessionId = id;
    this.sessionStore
      .create({ id, tokenHash: hashToken(token), userId: record.userId, owner: record.id })
      .catch((err: unknown) => this.storeFailed('create', err));
    this.registry.attachResource(record, this.resource);
    return `{"id":${JSON.stringify(id)},"token":${JSON.stringify(token)},"ttlMs":${this.ttlMs}}`;
  }

  /** The connection is gone: its session's TTL starts (whichever session it held by then). */
  private release(record: ClientRecord): Promise<void> {
    const id = record.sessionId;
    return id === undefined ? Promise.resolve() : this.sessionStore.release(id, record.id);
  }

  /**
   * A connection that held a session another connection resumed: cleaned up
   * at once (reason `resumed`) if it is still registered here.
   */
  evict(owner: SessionOwner): void {
    const record = this.registry.get(owner.clientId);
    if (record) void this.cleanup.run(record, 'resumed');
  }

  @OnEvent(LifelineEvents.topicSubscribed)
  onSubscribed({ clientId, topic }: TopicSubscriptionEvent): void {
    const id = this.registry.get(clientId)?.sessionId;
    if (id !== undefined) this.sessionStore.addTopic(id, topic).catch((err: unknown) => this.storeFailed('subscribe', err));
  }

  /** A `presence: true` subscribe: a resume watches the topic again. */
  @OnEvent(PresenceEvents.watched)
  onPresenceWatched({ clientId, topic }: PresenceWatchedEvent): void {
    const id = this.registry.get(clientId)?.sessionId;
    if (id !== undefined) this.sessionStore.addTopic(id, topic, true).catch((err: unknown) => this.storeFailed('subscribe', err));
  }

  @OnEvent(LifelineEvents.topicUnsubscribed)
  onUnsubscribed({ clientId, topic }: TopicSubscriptionEvent): void {
    // A client that is no longer registered is leaving: its session keeps the subscription.
    const id = this.registry.get(clientId)?.sessionId;
    if (id !== undefined) this.sessionStore.removeTopic(id, topic).catch((err: unknown) => this.storeFailed('unsubscribe', err));
  }

  /**
   * A publish with an id: published once per session, whatever the number
   * of copies (a retry after a resume included); every copy is acknowledged
   * with the first one's offset.
   */
  async publishOnce(client: ClientRecord, topic: string, data: unknown, publishId: string): Promise<PublishAck> {
    const sessionId = client.sessionId;
    if (sessionId === undefined) {
      const { offset } = await this.topics.publish(topic, data);
      return { id: publishId, topic, offset };
    }
    const key = `${sessionId}\n${publishId}`;
    let running = this.inflight.get(key);
    if (!running) {
      running = this.publishRemembered(sessionId, publishId, topic, data);
      this.inflight.set(key, running);
      void running.finally(() => this.inflight.delete(key)).catch(() => undefined);
    }
    return { id: publishId, ...(await running) };
  }

  private async publishRemembered(sessionId: string, publishId: string, topic: string, data: unknown): Promise<PublishedId> {
    const known = await this.sessionStore.published(sessionId, publishId);
    if (known) return known;
    const { offset } = await this.topics.publish(topic, data);
    const published = { topic, offset };
    await this.sessionStore.rememberPublished(sessionId, publishId, published);
    return published;
  }

  /** New token for a resumed session: the token and its hash. */
  freshToken(sessionId: string): { token: string; hash: string } {
    const token = newToken(sessionId);
    return { token, hash: hashToken(token) };
  }

  /** Store writes that fail (Redis away) are logged at most every 10 s. */
  private storeFailed(operation: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastStoreWarning < 10_000) return;
    this.lastStoreWarning = now;
    this.logger.warn({ msg: 'session store write failed', operation, error: errorText(err) });
  }
}
