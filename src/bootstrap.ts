import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module';
import type { Env } from './config/env.validation';
import { LifelineWsAdapter } from './lifeline';

export interface StartOptions extends AppModuleOptions {
  /** Use this logger instead of pino (tests capture logs this way). */
  logger?: Parameters<INestApplication['useLogger']>[0];
}

/** Builds and starts the service; shared by main.ts and the e2e tests. */
export async function startApp(options: StartOptions = {}): Promise<INestApplication> {
  // Errors surface as a rejected promise (abortOnError: false), not process.abort().
  const app = options.logger
    ? await NestFactory.create(AppModule.forRoot(options), { logger: options.logger, abortOnError: false })
    : await NestFactory.create(AppModule.forRoot(options), { bufferLogs: true, abortOnError: false });
  if (!options.logger) app.useLogger(app.get(Logger));
  app.useWebSocketAdapter(new LifelineWsAdapter(app));
  const config = app.get<ConfigService<Env, true>>(ConfigService);
  await app.listen(config.get('PORT', { infer: true }), config.get('HOST', { infer: true }));
  return app;
}
