import {
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR, ExternalContextCreator } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { readFileSync } from 'node:fs';
import type { Observable } from 'rxjs';
import { CaptureLogger } from '../../../test/support/capture-logger';
import { LifecycleContext } from '../cleanup/lifecycle-context';
import { LifelineWsAdapter } from '../lifeline-ws.adapter';
import { LifelineModule } from '../lifeline.module';
import { globalEnhancers, installedMinor, installUnboundHandlers, NEST_SEAM_PIN } from './nest-seam';

/**
 * The Nest seam reads what Nest does not export. When this spec fails, Nest
 * changed under it: read src/lifeline/nest-seam/nest-seam.ts against the new
 * Nest, adapt it, then move NEST_SEAM_PIN. Until then Lifeline still works
 * (the seam answers "unknown" and the public paths run), only slower and heavier.
 */
describe('Nest seam (pinned to the Nest minor)', () => {
  it('runs on the pinned Nest minors', () => {
    expect({
      '@nestjs/core': installedMinor('@nestjs/core'),
      '@nestjs/websockets': installedMinor('@nestjs/websockets'),
    }).toEqual(NEST_SEAM_PIN);
  });

  it("Nest still binds every handler to every client, in the method the seam wraps", () => {
    const source = readFileSync(require.resolve('@nestjs/websockets/web-sockets-controller.js'), 'utf8');
    // The connection handler hands the client to subscribeMessages, then the disconnect hook.
    expect(source).toContain('context.subscribeMessages(subscribersMap, client, instance);');
    expect(source).toContain('disconnectHook.call(adapter, client, () => disconnect.next(client));');
    // subscribeMessages binds per client and hands the result to the adapter; nothing else.
    const method = /subscribeMessages\(subscribersMap, client, instance\) \{([\s\S]*?)\n {4}\}/.exec(source)?.[1] ?? '';
    expect(method).toContain('callback: callback.bind(instance, client)');
    expect(method).toContain('adapter.bindMessageHandlers(client, handlers,');
    // handleDisconnect is fed only by the disconnect hook (the shared close listener replaces it).
    expect(source).toContain('.subscribe(instance.handleDisconnect.bind(instance));');
    expect(installUnboundHandlers()).toBe(true);
  });

  describe('global enhancers', () => {
    @Injectable()
    class PassThrough implements NestInterceptor {
      intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
        return next.handle();
      }
    }
    class Allow implements CanActivate {
      canActivate(): boolean {
        return true;
      }
    }

    let app: INestApplication | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    const start = async (providers: { provide: string; useClass: new () => unknown }[] = [], before?: (a: INestApplication) => void) => {
      const logs = new CaptureLogger();
      const moduleRef = await Test.createTestingModule({
        imports: [
          EventEmitterModule.forRoot(),
          ScheduleModule.forRoot(),
          LifelineModule.forRoot({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 100 }),
        ],
        providers,
      })
        .setLogger(logs)
        .compile();
      app = moduleRef.createNestApplication({ logger: logs });
      app.useWebSocketAdapter(new LifelineWsAdapter(app));
      before?.(app);
      await app.init();
      return app;
    };

    it('reads none on a plain app: steps run directly, upgrades skip the empty guard chain', async () => {
      const a = await start();
      expect(globalEnhancers(a.get(ExternalContextCreator))).toEqual({ interceptors: 0, guards: 0 });
      expect(a.get(LifecycleContext).stepsRunDirectly).toBe(true);
      expect(a.get(LifecycleContext).guardsSkipped).toBe(true);
    });

    it('reads useGlobalInterceptors / useGlobalGuards: Nest chains are used', async () => {
      const a = await start([], (x) => {
        x.useGlobalInterceptors(new PassThrough());
        x.useGlobalGuards(new Allow());
      });
      expect(globalEnhancers(a.get(ExternalContextCreator))).toEqual({ interceptors: 1, guards: 1 });
      expect(a.get(LifecycleContext).stepsRunDirectly).toBe(false);
      expect(a.get(LifecycleContext).guardsSkipped).toBe(false);
    });

    it('reads APP_INTERCEPTOR providers', async () => {
      const a = await start([{ provide: APP_INTERCEPTOR, useClass: PassThrough }]);
      expect(globalEnhancers(a.get(ExternalContextCreator))?.interceptors).toBe(1);
      expect(a.get(LifecycleContext).stepsRunDirectly).toBe(false);
    });
  });
});
