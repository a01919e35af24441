import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, type AppModuleOptions } from './app.module';
import type { Env } from './config/env.validation';
import { LIFELINE_OPTIONS, LifelineWsAdapter, type ResolvedLifelineOptions } from './lifeline';
import { AppLogger } from './logging/app-logger';
import { TRANSPORT_OPTIONS, TransportHealthIndicator, nestTransportOptions, type TransportOptions } from './transport';

export interface StartOptions extends AppModuleOptions {
  /** Use this logger instead of pino (tests capture logs this way). */
  logger?: Parameters<INestApplication['useLogger']>[0];
}

/** Builds and starts the service; shared by main.ts and the e2e tests. */
export async function startApp(options: StartOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    // Errors surface as a rejected promise, not process.abort().
    abortOnError: false,
    ...(options.logger ? { logger: options.logger } : { bufferLogs: true }),
  });
  // nestjs-pino's Logger, plus the level check the per-connection lines use.
  if (!options.logger) app.useLogger(app.get(AppLogger));
  app.useWebSocketAdapter(new LifelineWsAdapter(app));

  const lifeline = app.get<ResolvedLifelineOptions>(LIFELINE_OPTIONS);
  // Any JSON value may be published over HTTP; nothing larger than a WebSocket frame may.
  app.useBodyParser('json', { limit: lifeline.maxPayloadBytes, strict: false });

  const api = new DocumentBuilder()
    .setTitle('Lifeline operator API')
    .setDescription('Clients, kicks and server-side publishing. Bearer ADMIN_TOKEN when set.')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, api));

  // Hybrid app: the microservice server starts after init, with the app's global enhancers.
  const config = app.get<ConfigService<Env, true>>(ConfigService);
  if (config.get('MICROSERVICE_TRANSPORT', { infer: true }) !== 'none') {
    const transport = app.get<TransportOptions>(TRANSPORT_OPTIONS, { strict: false });
    const microservice = app.connectMicroservice(nestTransportOptions(transport), { inheritAppConfig: true });
    await app.init();
    app.get(TransportHealthIndicator, { strict: false }).watch(microservice.status);
    await app.startAllMicroservices();
  }

  await app.listen(config.get('PORT', { infer: true }), config.get('HOST', { infer: true }));
  return app;
}

