import {
  type CallHandler,
  Controller,
  type ExecutionContext,
  Injectable,
  type INestMicroservice,
  Module,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { NestFactory } from '@nestjs/core';
import { type ClientOptions, EventPattern, type MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import { randomBytes } from 'node:crypto';
import {
  type ClientsPage,
  LifelineTransportClient,
  LifelineClientModule,
  LifelineTransportEvents,
  type TransportConnectedEvent,
  type TransportDisconnectedEvent,
} from '../src/transport/client';
import { CaptureLogger } from './support/capture-logger';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const NATS_URL = process.env.LIFELINE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.LIFELINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const transports = [
  { name: 'nats' as const, url: NATS_URL, nest: { transport: Transport.NATS, options: { servers: [NATS_URL] } } },
  {
    name: 'redis' as const,
    url: REDIS_URL,
    nest: { transport: Transport.REDIS, options: { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) } },
  },
];

/** Patterns the app's global interceptor saw over RPC: the hybrid app inherits global enhancers. */
const rpcSeen: string[] = [];

@Injectable()
class RpcAudit implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    if (context.getType() === 'rpc') rpcSeen.push(context.getHandler().name);
    return next.handle();
  }
}

@Module({ providers: [{ provide: APP_INTERCEPTOR, useClass: RpcAudit }] })
class GlobalAuditModule {}

interface Received {
  connected: TransportConnectedEvent[];
  disconnected: TransportDisconnectedEvent[];
}

/** The other service: LifelineClientModule for commands, @EventPattern handlers for Lifeline's events. */
function consumerModule(prefix: string, nest: MicroserviceOptions, received: Received, async: boolean): Type {
  @Controller()
  class LifecycleListener {
    @EventPattern(prefix + LifelineTransportEvents.connected)
    connected(@Payload() event: TransportConnectedEvent) {
      received.connected.push(event);
    }

    @EventPattern(prefix + LifelineTransportEvents.disconnected)
    disconnected(@Payload() event: TransportDisconnectedEvent) {
      received.disconnected.push(event);
    }
  }
  @Module({
    imports: [
      async
        ? // The options from a factory (as from ConfigService), resolved when the module starts.
          LifelineClientModule.registerAsync({ useFactory: () => Promise.resolve({ ...(nest as ClientOptions), prefix, timeoutMs: 3_000 }) })
        : LifelineClientModule.register({ ...(nest as ClientOptions), prefix, timeoutMs: 3_000 }),
    ],
    controllers: [LifecycleListener],
  })
  class ConsumerModule {}
  return ConsumerModule;
}

describe.each(transports)('microservice transport: $name', ({ name, url, nest }) => {
  // Unique per run: parallel runs on the same broker never see each other's commands or events.
  const prefix = `t${randomBytes(4).toString('hex')}.`;
  const received: Received = { connected: [], disconnected: [] };
  let lifeline: TestApp;
  let consumer: INestMicroservice;
  let client: LifelineTransportClient;

  beforeAll(async () => {
    lifeline = await startTestApp({
      env: { MICROSERVICE_TRANSPORT: name, MICROSERVICE_URL: url, MICROSERVICE_PREFIX: prefix },
      imports: [GlobalAuditModule],
    });
    consumer = await NestFactory.createMicroservice<MicroserviceOptions>(consumerModule(prefix, nest as MicroserviceOptions, received, name === 'redis'), {
      ...(nest as MicroserviceOptions),
      logger: new CaptureLogger(),
    });
    await consumer.listen();
    client = consumer.get(LifelineTransportClient);
  });

  afterAll(async () => {
    await consumer?.close();
    if (!closed) await lifeline?.close();
  });
  let closed = false;

  it('commands: publish, send, clients, kick; lifecycle events out; health', async () => {
    const ws = await lifeline.join();
    await waitFor(() => received.connected.some((e) => e.clientId === ws.id), 'lifeline.client.connected on the transport');

    ws.send('subscribe', { topic: 'news' });
    await ws.next('subscribed');
    const published = await client.publish('news', { n: 1 });
    expect(published).toEqual({ topic: 'news', recipients: 1, epoch: expect.any(String) as string, offset: expect.any(Number) as number });
    expect((await ws.next('message')).data).toEqual({ topic: 'news', data: { n: 1 }, epoch: published.epoch, offset: published.offset });

    await client.publishAndForget('news', { n: 2 });
    expect((await ws.next('message')).data).toEqual({ topic: 'news', data: { n: 2 }, epoch: published.epoch, offset: published.offset + 1 });

    await expect(client.send({ clientId: ws.id, event: 'note', data: 'hi' })).resolves.toEqual({ recipients: 1 });
    expect((await ws.next('note')).data).toBe('hi');

    const page: ClientsPage = await client.clients({ limit: 10 });
    expect(page).toMatchObject({ total: 1, limit: 10, offset: 0, scope: 'local' });
    expect(page.items[0]).toMatchObject({ id: ws.id, subscriptions: ['news'] });

    const health = await lifeline.get('/health');
    expect(health.body).toMatchObject({ details: { microservice: { status: 'up', transport: name, state: 'connected' } } });

    await expect(client.kick(ws.id)).resolves.toEqual({ id: ws.id, kicked: true });
    expect(rpcSeen).toEqual(expect.arrayContaining(['publish', 'send', 'clients', 'kick']));
    expect(await ws.closed).toBe(1008);
    await waitFor(() => received.disconnected.some((e) => e.clientId === ws.id), 'lifeline.client.disconnected on the transport');
    const left = received.disconnected.find((e) => e.clientId === ws.id);
    expect(left?.reason).toBe('kicked');
    expect(left?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('bad commands are refused like the HTTP API (400 / 404 with a message)', async () => {
    await expect(client.publish('has space', 1)).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('topic') as string });
    await expect(client.send({ clientId: 'nope' })).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('clientId') as string });
    await expect(client.send({ clientId: '00000000-0000-4000-8000-000000000000', userId: 'u' } as never)).rejects.toMatchObject({ statusCode: 400 });
    await expect(client.send({ clientId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ statusCode: 404 });
    await expect(client.send({ userId: 'nobody' })).resolves.toEqual({ recipients: 0 });
    await expect(client.kick('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ statusCode: 404 });
    await expect(client.clients({ limit: 0 })).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('limit') as string });
    await expect(client.clients({ scope: 'cluster' })).rejects.toMatchObject({ statusCode: 503 });
  });

  it('on shutdown, the disconnects of the drain still leave on the transport before it closes', async () => {
    const ws = await lifeline.join();
    await waitFor(() => received.connected.some((e) => e.clientId === ws.id), 'connected');
    closed = true;
    // Nest's own close: beforeApplicationShutdown drains (1001), then the transport closes.
    await lifeline.app.close();
    expect(await ws.closed).toBe(1001);
    await waitFor(() => received.disconnected.some((e) => e.clientId === ws.id), 'disconnected after shutdown', 3_000);
    expect(received.disconnected.find((e) => e.clientId === ws.id)?.reason).toBe('server_shutdown');
  });
});
