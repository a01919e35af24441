import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ClusterTopicsBridge } from './cluster-topics.bridge';
import { CLUSTER_OPTIONS } from './cluster.constants';
import { redactRedisUrl } from './cluster.options';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { NodeLeaseService } from './node-lease.service';
import { RedisConnection } from './redis.connection';
import { LifelineLogger } from '../lifeline';

/**
 * Starts and stops cluster mode in order. Start: connect, bridge topics,
 * renew the lease (the first registration runs as soon as Redis is ready; the
 * app does not wait more than one refresh period for it, so a node can start
 * during a Redis outage). Stop, after every client's cleanup (Lifeline closes
 * them in beforeApplicationShutdown): leave the cluster, then close Redis.
 */
@Injectable()
export class ClusterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new LifelineLogger('Cluster');

  constructor(
    @Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions,
    private readonly connection: RedisConnection,
    private readonly lease: NodeLeaseService,
    private readonly bridge: ClusterTopicsBridge,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.logger.log({
      msg: 'cluster mode',
      node: this.options.nodeId,
      redis: redactRedisUrl(this.options.redisUrl),
      keyPrefix: this.options.keyPrefix,
      ttlMs: this.options.nodeTtlMs,
    });
    this.bridge.start();
    this.lease.start();
    // Registration starts on the connection's 'ready' event; wait for it, bounded.
    if (await this.connection.connect(this.options.refreshMs)) await this.lease.settled();
    // A duplicate NODE_ID: each node would drop the other's messages as its own echo.
    const conflict = this.lease.nodeIdConflict;
    if (conflict) {
      this.bridge.stop();
      await this.connection.close();
      throw conflict;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lease.leave();
    this.bridge.stop();
    await this.connection.close();
  }
}
