import { Controller, Get, Optional } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { ClusterHealthIndicator } from '../cluster';
import { TransportHealthIndicator } from '../transport/transport.health-indicator';
import { WebSocketHealthIndicator } from './websocket.health-indicator';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly websocket: WebSocketHealthIndicator,
    /** Present in cluster mode only: adds details.redis and details.cluster. */
    @Optional() private readonly cluster?: ClusterHealthIndicator,
    /** Present with a microservice transport only: adds details.microservice. */
    @Optional() private readonly microservice?: TransportHealthIndicator,
  ) {}

  /** Overall health: 503 when the heartbeat has stalled. */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.websocket.check('websocket'),
      ...(this.cluster?.checks() ?? []),
      ...(this.microservice ? [() => this.microservice!.check('microservice')] : []),
    ]);
  }

  /** Liveness: the process answers HTTP. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Readiness: accepting new clients (turns 503 when shutdown begins). */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.websocket.ready('lifecycle')]);
  }
}
