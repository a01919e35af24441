import { Injectable } from '@nestjs/common';
import { type HealthIndicatorFunction, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { NodeLeaseService } from './node-lease.service';
import { ClusterPresenceService } from './presence.service';
import { RedisConnection } from './redis.connection';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * `details.redis` (the three connections up, and commands answering) and `details.cluster`
 * (`{ nodes, clients }` of live leases). Either is down while Redis is away:
 * GET /health then reports the outage while local clients are still served;
 * readiness does not look at Redis.
 */
@Injectable()
export class ClusterHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly connection: RedisConnection,
    private readonly presence: ClusterPresenceService,
    private readonly lease: NodeLeaseService,
  ) {}

  /** The checks GET /health adds in cluster mode. */
  checks(): HealthIndicatorFunction[] {
    return [() => this.redis('redis'), () => this.cluster('cluster')];
  }

  async redis<const Key extends string>(key: Key): Promise<HealthIndicatorResult<Key>> {
    const session = this.indicator.check(key);
    if (!this.connection.healthy) {
      return session.down({
        message: 'redis unavailable; serving local clients only',
        commands: this.connection.commands.status,
        lease: this.connection.lease.status,
        subscriber: this.connection.subscriber.status,
      });
    }
    try {
      await this.connection.commands.ping();
      return session.up();
    } catch (err) {
      return session.down({ message: `redis did not answer: ${errorText(err)}` });
    }
  }

  async cluster<const Key extends string>(key: Key): Promise<HealthIndicatorResult<Key>> {
    const session = this.indicator.check(key);
    if (!this.connection.up) {
      return session.down({ nodes: null, clients: null, message: 'cluster view unavailable without redis' });
    }
    const conflict = this.lease.nodeIdConflict;
    if (conflict) return session.down({ nodes: null, clients: null, message: conflict.message });
    try {
      return session.up({ ...(await this.presence.view()) });
    } catch (err) {
      return session.down({ nodes: null, clients: null, message: `cluster view failed: ${errorText(err)}` });
    }
  }
}
