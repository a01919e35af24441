import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { WebSocketHealthIndicator } from './websocket.health-indicator';

/** Needs LifelineModule registered globally (isGlobal: true). */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [WebSocketHealthIndicator],
})
export class HealthModule {}
