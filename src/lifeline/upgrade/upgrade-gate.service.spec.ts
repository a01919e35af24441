import { type CanActivate, type INestApplication, Injectable, type Type, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import type { IncomingMessage } from 'node:http';
import { CaptureLogger } from '../../../test/support/capture-logger';
import { LifelineWsAdapter } from '../lifeline-ws.adapter';
import { LifelineGateway } from '../lifeline.gateway';
import { LifelineModule } from '../lifeline.module';
import { UpgradeGate } from './upgrade-gate.service';

/** Lets everyone in but the user agent "bot", and counts its calls. */
@Injectable()
class NoBots implements CanActivate {
  static calls = 0;
  canActivate(context: Parameters<CanActivate['canActivate']>[0]): boolean {
    NoBots.calls++;
    const { request } = context.switchToWs().getData<{ request: IncomingMessage }>();
    return request.headers['user-agent'] !== 'bot';
  }
}

@UseGuards(NoBots)
class GuardedGateway extends LifelineGateway {}

function upgradeRequest(userAgent = 'human'): IncomingMessage {
  return { url: '/ws', headers: { 'user-agent': userAgent }, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

interface Setup {
  gateway?: Type<LifelineGateway>;
  providers?: { provide: typeof APP_GUARD; useClass: Type<CanActivate> }[];
  /** Runs before init, as main.ts would (app.useGlobalGuards). */
  configure?: (app: INestApplication) => void;
}

async function startGate({ gateway, providers = [], configure }: Setup = {}): Promise<INestApplication> {
  const logs = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      EventEmitterModule.forRoot(),
      ScheduleModule.forRoot(),
      LifelineModule.forRoot({ maxClients: 1, ...(gateway && { gateway }) }),
    ],
    providers: [NoBots, ...providers],
  })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  app.useWebSocketAdapter(new LifelineWsAdapter(app));
  configure?.(app);
  await app.init();
  return app;
}

describe('UpgradeGate.admit', () => {
  let app: INestApplication;
  beforeEach(() => {
    NoBots.calls = 0;
  });
  afterEach(() => app.close());

  it('without guards admits at once and counts the admission as pending until settled', async () => {
    app = await startGate();
    const gate = app.get(UpgradeGate);

    expect(await gate.admit(upgradeRequest())).toEqual({ userId: undefined });
    // maxClients is 1 and the first admission has not settled yet.
    expect(await gate.admit(upgradeRequest())).toMatchObject({ status: 503, reason: 'capacity' });
    gate.settled();
    expect(await gate.admit(upgradeRequest())).toEqual({ userId: undefined });
  });

  const guarded: [string, Setup][] = [
    ['@UseGuards on the gateway class', { gateway: GuardedGateway }],
    ['a global guard (app.useGlobalGuards)', { configure: (a) => a.useGlobalGuards(new NoBots()) }],
    ['a global guard (APP_GUARD)', { providers: [{ provide: APP_GUARD, useClass: NoBots }] }],
  ];

  it.each(guarded)('with %s, runs the guards before admitting; a refusal frees its pending slot', async (_name, setup) => {
    app = await startGate(setup);
    const gate = app.get(UpgradeGate);

    expect(await gate.admit(upgradeRequest('bot'))).toMatchObject({ status: 403, reason: 'forbidden' });
    expect(NoBots.calls).toBe(1);

    // The refused bot no longer counts against maxClients = 1.
    expect(await gate.admit(upgradeRequest())).toEqual({ userId: undefined });
    expect(await gate.admit(upgradeRequest())).toMatchObject({ status: 503, reason: 'capacity' });
    gate.settled();
    expect(NoBots.calls).toBe(2);
  });
});
