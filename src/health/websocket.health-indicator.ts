import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ClientRegistryService, HeartbeatService, LifecycleService } from '../lifeline';

/** Reads the registry and the heartbeat; never writes. */
@Injectable()
export class WebSocketHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly registry: ClientRegistryService,
    private readonly heartbeat: HeartbeatService,
    private readonly lifecycle: LifecycleService,
  ) {}

  /** Up while sweeps keep completing; down after 2 x interval + timeout without one. */
  check<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const status = this.heartbeat.status();
    const data = {
      clients: this.registry.size,
      intervalMs: status.intervalMs,
      timeoutMs: status.timeoutMs,
      lastSweepAt: status.lastSweepAt === undefined ? null : new Date(status.lastSweepAt).toISOString(),
    };
    const session = this.indicator.check(key);
    if (status.healthy) return session.up(data);
    const limit = 2 * status.intervalMs + status.timeoutMs;
    return session.down({
      ...data,
      message: `no heartbeat sweep completed for ${status.sinceLastSweepMs} ms (limit ${limit} ms)`,
    });
  }

  /** Down once shutdown has begun, so balancers stop sending new clients. */
  ready<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const session = this.indicator.check(key);
    return this.lifecycle.accepting
      ? session.up({ accepting: true })
      : session.down({ accepting: false, message: 'shutting down' });
  }
}
