import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { ClusterModule } from './cluster/cluster.module';
import { type Env, validateEnv } from './config/env.validation';
import { lifelineOptionsFromEnv } from './config/lifeline-options.factory';
import { AdminModule } from './admin/admin.module';
import { HealthModule } from './health/health.module';
import { ClientErrorFilter } from './http/client-error.filter';
import { type LifelineGateway, LifelineModule, type TopicPolicy } from './lifeline';
import { AppLogger } from './logging/app-logger';
import { MetricsModule } from './metrics/metrics.module';
import { StatusModule } from './status/status.module';
import { TransportModule } from './transport/transport.module';

export interface AppModuleOptions {
  /**
   * Variables that win over process.env; when given, no .env file is read.
   * Tests use this to run several differently configured apps in one process.
   */
  env?: Record<string, string>;
  /** A LifelineGateway subclass, e.g. one carrying extra @UseInterceptors. */
  gateway?: Type<LifelineGateway>;
  /** Extra modules, e.g. extensions that attach resources or listen to events. */
  imports?: DynamicModule['imports'];
  /** Who may subscribe and publish (LifelineModule's `topicPolicy`): a class or an instance. */
  topicPolicy?: Type<TopicPolicy> | TopicPolicy;
}

/**
 * Routes that bypass nestjs-pino's middleware altogether. It runs each request
 * inside AsyncLocalStorage.run, which (before Node 24) switches async_hooks on
 * for the whole process at the first request, and from then on every promise
 * and nextTick pays the hooks: a single readiness probe would be enough.
 * Their access lines were never logged (autoLogging.ignore below).
 */
const UNLOGGED_ROUTES = ['health', 'health/{*path}', 'metrics'];
/**
 * The status page too: opening it must not change the cost of everything
 * else (its feed is a long-lived request; kicks go through /clients, which
 * is logged).
 */
UNLOGGED_ROUTES.push('status', 'status/{*path}');

/** pino-http's request serializer, minus any `access_token` in the logged URL. */
function withoutAccessToken(req: { url?: string }): { url?: string } {
  return req.url?.includes('access_token=')
    ? { ...req, url: req.url.replace(/([?&]access_token=)[^&]*/g, '$1[Redacted]') }
    : req;
}

/** Composes config, logging, the Lifeline core, health and metrics. */
@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    const { env } = options;
    const configModule = ConfigModule.forRoot(
      env === undefined
        ? { isGlobal: true, cache: true, skipProcessEnv: true, validate: validateEnv }
        : // Given variables only, and nothing written back to process.env (which
          // `validate` would do), so apps in one test process cannot leak
          // settings into each other.
          {
            isGlobal: true,
            cache: true,
            skipProcessEnv: true,
            ignoreEnvFile: true,
            validatePredefined: false,
            load: [() => validateEnv(env)],
          },
    );
    return {
      module: AppModule,
      providers: [{ provide: APP_FILTER, useClass: ClientErrorFilter }, AppLogger],
      imports: [
        configModule,
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<Env, true>) => ({
            exclude: UNLOGGED_ROUTES,
            pinoHttp: {
              level: config.get('LOG_LEVEL', { infer: true }),
              // Probes and scrapes would drown everything else. The routes
              // themselves skip the middleware (UNLOGGED_ROUTES); this also
              // keeps quiet about near misses such as /health-x.
              autoLogging: { ignore: (req) => /^\/(health|metrics|status)\b/.test(req.url ?? '') },
              // Credentials never reach the log.
              redact: ['req.headers.authorization', 'req.headers.cookie', 'req.query.access_token'],
              serializers: { req: withoutAccessToken },
              // Human-readable only when a person is watching a terminal.
              ...(process.stdout.isTTY && { transport: { target: 'pino-pretty', options: { singleLine: true } } }),
            },
          }),
        }),
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        LifelineModule.forRootAsync({
          isGlobal: true,
          ...(options.gateway && { gateway: options.gateway }),
          ...(options.topicPolicy && { topicPolicy: options.topicPolicy }),
          inject: [ConfigService],
          useFactory: lifelineOptionsFromEnv,
        }),
        // Cluster mode on Redis, only when REDIS_URL is set; otherwise nothing changes.
        ClusterModule.whenConfigured(configModule, env),
        // Nest microservice commands and events, only when MICROSERVICE_TRANSPORT is set.
        TransportModule.whenConfigured(configModule, env),
        HealthModule,
        AdminModule,
        MetricsModule,
        StatusModule,
        ...(options.imports ?? []),
      ],
    };
  }
}
