import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { LifelineModule } from 'nestjs-lifeline';
import { ClusterModule } from 'nestjs-lifeline/cluster';
import { LeaseModule } from './lease.extension';

/** Synchronous configuration, with every module a careful host imports. */
@Module({})
export class SyncAppModule {
  static create(): DynamicModule {
    return {
      module: SyncAppModule,
      imports: [
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        LifelineModule.forRoot({ path: '/ws', heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500, isGlobal: true }),
        LeaseModule,
      ],
    };
  }
}

/**
 * Async configuration from ConfigService; and no ScheduleModule.forRoot():
 * LifelineModule needs only EventEmitterModule from its host.
 */
@Module({})
export class AsyncAppModule {
  static create(): DynamicModule {
    return {
      module: AsyncAppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true }),
        EventEmitterModule.forRoot(),
        LifelineModule.forRootAsync({
          isGlobal: true,
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            path: config.get<string>('EXAMPLE_WS_PATH', '/ws'),
            heartbeatIntervalMs: Number(config.get('EXAMPLE_HEARTBEAT_MS', 1_000)),
            heartbeatTimeoutMs: 500,
          }),
        }),
        LeaseModule,
      ],
    };
  }
}

/** Cluster mode configured in code (no environment variables, no ConfigModule). */
@Module({})
export class ClusterAppModule {
  static create(redisUrl: string, keyPrefix: string): DynamicModule {
    return {
      module: ClusterAppModule,
      imports: [
        EventEmitterModule.forRoot(),
        LifelineModule.forRoot({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500, isGlobal: true }),
        ClusterModule.forRoot({ redisUrl, keyPrefix, nodeId: 'example-node' }),
        LeaseModule,
      ],
    };
  }
}
