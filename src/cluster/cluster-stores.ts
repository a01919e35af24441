import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ClientRegistryService, MemoryTopicLog, SessionsService, TopicsService } from '../lifeline';
import { CLUSTER_OPTIONS, ClusterKeys, NODE_REAPED_EVENT } from './cluster.constants';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { RedisConnection } from './redis.connection';
import { RedisSessionStore } from './redis-session-store';
import { RedisTopicLog } from './redis-topic-log';
import { LifelineLogger } from '../lifeline';

/**
 * Puts the cluster's stores in place at module init, before any connection
 * or publish: history (RedisTopicLog) and sessions (RedisSessionStore)
 * instead of the memory ones. Same interfaces, no feature written twice.
 */
@Injectable()
export class ClusterStores implements OnModuleInit {
  private readonly logger = new LifelineLogger('Cluster');
  private sessionStore: RedisSessionStore | undefined;

  constructor(
    @Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions,
    private readonly keys: ClusterKeys,
    private readonly connection: RedisConnection,
    private readonly topics: TopicsService,
    private readonly sessions: SessionsService,
    private readonly registry: ClientRegistryService,
  ) {}

  onModuleInit(): void {
    const history = this.topics.history;
    // A topic's epoch and last offset outlive its messages, so positions handed out stay checkable.
    const retainMs = 2 * Math.max(history.ttlMs, this.sessions.ttlMs);
    const fallback = new MemoryTopicLog(
      history,
      (topic, frame, offset) => this.topics.deliver(topic, frame, offset),
      retainMs,
      `local-${this.options.nodeId}-`,
    );
    this.topics.useLog(new RedisTopicLog(this.connection, this.keys, history, retainMs, fallback));
    if (this.sessions.enabled) {
      const store = new RedisSessionStore(this.connection, this.keys, this.options.nodeId, this.sessions.ttlMs, (clientId) =>
        this.topicsOf(clientId),
      );
      this.sessions.useStore(store);
      store.start();
      this.sessionStore = store;
    }
  }

  /** A live client's subscriptions. */
  private topicsOf(clientId: string): string[] {
    const record = this.registry.get(clientId);
    return record ? this.topics.subscriptionsOf(record) : [];
  }

  /** The reaper removed a dead node: the sessions its connections held start their TTL (resumable meanwhile). */
  @OnEvent(NODE_REAPED_EVENT)
  async onNodeReaped({ node }: { node: string }): Promise<void> {
    if (!this.sessionStore) return;
    try {
      const expiring = await this.sessionStore.expireNode(node);
      if (expiring > 0) this.logger.log({ msg: 'sessions of a lost node expire', node, sessions: expiring });
    } catch (err) {
      this.logger.warn({ msg: 'could not expire the sessions of a lost node', node, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
