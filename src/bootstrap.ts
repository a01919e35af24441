import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AddressInfo } from 'node:net';
import { CLUSTER_OPTIONS } from './cluster/cluster.constants';
import type { ClusterOptions } from './cluster/interfaces/cluster-options.interface';
import { AppModule, type AppModuleOptions } from './app.module';
import type { Env } from './config/env.validation';
import { adminHttpGate, isLoopback } from './admin/admin-http-gate';
import { LIFELINE_OPTIONS, LifelineWsAdapter, type ResolvedLifelineOptions } from './lifeline';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './lifeline/json-depth';
import { AppLogger } from './logging/app-logger';
import { LifelineLogger } from './lifeline/log-entry';
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
    // The JSON parser is registered below, after the operator API's gate, so
    // an unauthorised request is answered before its body is read.
    bodyParser: false,
    ...(options.logger ? { logger: options.logger } : { bufferLogs: true }),
  });
  // nestjs-pino's Logger, plus the level check the per-connection lines use.
  if (!options.logger) app.useLogger(app.get(AppLogger));
  app.useWebSocketAdapter(new LifelineWsAdapter(app));

  const lifeline = app.get<ResolvedLifelineOptions>(LIFELINE_OPTIONS);
  const config = app.get<ConfigService<Env, true>>(ConfigService);
  const adminToken = config.get('ADMIN_TOKEN', { infer: true });
  app.use(adminHttpGate({ adminToken, bodyTimeoutMs: config.get('HTTP_BODY_TIMEOUT_MS', { infer: true }) }));
  // Any JSON value may be published over HTTP; nothing larger than a WebSocket frame may,
  // nor anything nested deeper than a frame may be.
  app.useBodyParser('json', {
    limit: lifeline.maxPayloadBytes,
    strict: false,
    verify: (_req: unknown, _res: unknown, body: Buffer) => {
      if (nestsDeeperThan(body)) throw tooDeep();
    },
  });

  const api = new DocumentBuilder()
    .setTitle('Lifeline operator API')
    .setDescription('Clients, kicks and server-side publishing. Bearer ADMIN_TOKEN when set.')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, api));

  // Hybrid app: the microservice server starts after init, with the app's global enhancers.
  if (config.get('MICROSERVICE_TRANSPORT', { infer: true }) !== 'none') {
    const transport = app.get<TransportOptions>(TRANSPORT_OPTIONS, { strict: false });
    const microservice = app.connectMicroservice(nestTransportOptions(transport), { inheritAppConfig: true });
    await app.init();
    app.get(TransportHealthIndicator, { strict: false }).watch(microservice.status);
    await app.startAllMicroservices();
  }

  await app.listen(config.get('PORT', { infer: true }), config.get('HOST', { infer: true }));

  const logger = new LifelineLogger('Lifeline');
  const address = app.getHttpServer().address() as AddressInfo;
  // Listening on loopback only, nothing else can reach the API anyway: no warning needed.
  if (adminToken === undefined && !isLoopback(address.address)) {
    logger.warn({
      msg: 'ADMIN_TOKEN is unset: the operator API (/clients, /topics) and /docs answer only on loopback; set ADMIN_TOKEN (16+ characters) to serve them to other addresses, with Authorization: Bearer <token>',
    });
  }
  // The last start-up line: where to connect.
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const nodeId = config.get('REDIS_URL', { infer: true }) === undefined ? undefined : app.get<ClusterOptions>(CLUSTER_OPTIONS, { strict: false }).nodeId;
  const mode = nodeId === undefined ? 'in-memory' : 'cluster';
  logger.log({
    msg: `listening on http://${host}:${address.port}, WebSocket ws://${host}:${address.port}${lifeline.path}, ${mode} mode${nodeId === undefined ? '' : `, node ${nodeId}`}`,
    url: `http://${host}:${address.port}`,
    websocket: `ws://${host}:${address.port}${lifeline.path}`,
    mode,
    ...(nodeId !== undefined && { node: nodeId }),
  });
  return app;
}

/** body-parser answers a verify error with its `status` (exposed: the filter turns it into 400). */
function tooDeep(): Error {
  return Object.assign(new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), {
    status: 400,
    statusCode: 400,
    expose: true,
    type: 'entity.too.deep',
  });
}
