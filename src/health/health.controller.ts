import { Controller, Get } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { WebSocketHealthIndicator } from './websocket.health-indicator';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly websocket: WebSocketHealthIndicator,
  ) {}

  /** Overall health: 503 when the heartbeat has stalled. */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.websocket.check('websocket')]);
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
