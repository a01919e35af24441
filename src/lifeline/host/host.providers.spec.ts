import type { INestApplication } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { WsAdapter } from '@nestjs/platform-ws';
import { ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { CaptureLogger } from '../../../test/support/capture-logger';
import { TestClient } from '../../../test/support/ws-client';
import { LifelineModule } from '../lifeline.module';
import { LifelineWsAdapter } from '../lifeline-ws.adapter';
import { FOREIGN_ADAPTER, MISSING_EVENT_EMITTER } from './host.providers';

const options = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 100, shutdownGraceMs: 200 };

async function app(imports: Parameters<typeof Test.createTestingModule>[0]['imports']): Promise<INestApplication> {
  const logs = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({ imports }).setLogger(logs).compile();
  return moduleRef.createNestApplication({ logger: logs });
}

function portOf(host: INestApplication): number {
  return ((host.getHttpServer() as Server).address() as AddressInfo).port;
}

/** First frame and the first protocol ping of a real client. */
function welcomeAndPing(url: string): Promise<{ welcome: { event: string }; pinged: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    let welcome: { event: string } | undefined;
    socket.once('message', (raw: Buffer) => (welcome = JSON.parse(raw.toString()) as { event: string }));
    socket.once('ping', () => {
      socket.close();
      resolve({ welcome: welcome ?? { event: 'none' }, pinged: true });
    });
    socket.once('error', reject);
  });
}

describe('LifelineModule in a host app that forgot something', () => {
  it('without EventEmitterModule.forRoot(): start fails with a sentence naming it, not a DI error', async () => {
    const attempt = app([ScheduleModule.forRoot(), LifelineModule.forRoot(options)]);
    await expect(attempt).rejects.toThrow(MISSING_EVENT_EMITTER);
    await expect(attempt).rejects.not.toThrow(/can't resolve dependencies/);
  });

  it('without ScheduleModule.forRoot() and without the adapter: works (LifelineWsAdapter by default, private scheduler)', async () => {
    const host = await app([EventEmitterModule.forRoot(), LifelineModule.forRoot(options)]);
    await host.listen(0, '127.0.0.1');
    try {
      const port = portOf(host);
      const { welcome, pinged } = await welcomeAndPing(`ws://127.0.0.1:${port}/ws`);
      expect(welcome.event).toBe('welcome');
      expect(pinged).toBe(true); // the heartbeat runs on the private SchedulerRegistry
      // Only LifelineWsAdapter answers an unknown path with a 404 (the stock one drops the connection).
      expect((await TestClient.refusal(`ws://127.0.0.1:${port}/elsewhere`)).status).toBe(404);
    } finally {
      await host.close();
    }
  });

  it('the host adapter wins when it is a LifelineWsAdapter', async () => {
    const host = await app([EventEmitterModule.forRoot(), ScheduleModule.forRoot(), LifelineModule.forRoot(options)]);
    const adapter = new LifelineWsAdapter(host);
    host.useWebSocketAdapter(adapter);
    await host.listen(0, '127.0.0.1');
    try {
      const port = portOf(host);
      expect((await welcomeAndPing(`ws://127.0.0.1:${port}/ws`)).welcome.event).toBe('welcome');
    } finally {
      await host.close();
    }
  });

  it('with a foreign WebSocket adapter: start fails naming LifelineWsAdapter', async () => {
    const host = await app([EventEmitterModule.forRoot(), ScheduleModule.forRoot(), LifelineModule.forRoot(options)]);
    host.useWebSocketAdapter(new WsAdapter(host));
    await expect(host.listen(0, '127.0.0.1')).rejects.toThrow(FOREIGN_ADAPTER);
    await host.close().catch(() => undefined);
  });
});
