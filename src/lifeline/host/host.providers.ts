import { Injectable, type Provider } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { ApplicationConfig } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { LifelineWsAdapter } from '../lifeline-ws.adapter';
import { HOST_EVENT_EMITTER, HOST_SCHEDULER } from './host.constants';

/** Thrown at start when the host app lacks something it must add itself. */
export class LifelineSetupError extends Error {
  override name = 'LifelineSetupError';
}

export const MISSING_EVENT_EMITTER =
  'LifelineModule needs EventEmitterModule.forRoot() from @nestjs/event-emitter in your root module imports: ' +
  "Lifeline's lifecycle events (lifeline.client.connected, …) and your @OnEvent listeners go through it.";

export const FOREIGN_ADAPTER =
  'LifelineModule needs LifelineWsAdapter (or a subclass) as the WebSocket adapter: ' +
  'app.useWebSocketAdapter(new LifelineWsAdapter(app)) before app.listen(), or none at all and Lifeline sets it.';

/**
 * What Lifeline's services inject, resolved here so that a host app that
 * forgot a module gets a sentence naming it instead of Nest's "can't resolve
 * dependencies" error:
 * - EventEmitter2: the host's (its @OnEvent listeners must hear Lifeline's
 *   events, so a private emitter would fail silently); missing → a clear error.
 * - SchedulerRegistry: the host's, or a private one. Lifeline only keeps its
 *   timers in it; a second ScheduleModule.forRoot() of its own would run the
 *   host's @Interval/@Cron jobs twice.
 */
export const HOST_PROVIDERS: Provider[] = [
  {
    provide: EventEmitter2,
    useFactory: (events?: EventEmitter2) => {
      if (!events) throw new LifelineSetupError(MISSING_EVENT_EMITTER);
      return events;
    },
    inject: [{ token: HOST_EVENT_EMITTER, optional: true }],
  },
  {
    provide: SchedulerRegistry,
    useFactory: (scheduler?: SchedulerRegistry) => scheduler ?? new SchedulerRegistry(),
    inject: [{ token: HOST_SCHEDULER, optional: true }],
  },
];

const PATCHED = Symbol('lifeline:adapter-default');

type PatchableConfig = ApplicationConfig & { [PATCHED]?: true };

/**
 * Makes LifelineWsAdapter the default WebSocket adapter. Nest asks the
 * application config for its adapter while app.init() connects the gateways;
 * with none set it would load socket.io's (not installed: the process exits
 * with an unrelated message). The adapter the host set wins; none → Lifeline's;
 * a foreign one → a clear error, since Lifeline's upgrade gate, limits and
 * handlers live in its adapter.
 */
@Injectable()
export class LifelineAdapterDefault {
  constructor(moduleRef: ModuleRef, httpHost: HttpAdapterHost) {
    // ModuleRef keeps the container; its applicationConfig is the app's (Nest has no public accessor).
    const config = (moduleRef as unknown as { container?: { applicationConfig?: PatchableConfig } }).container
      ?.applicationConfig;
    if (!config || config[PATCHED]) return;
    config[PATCHED] = true;
    const getIoAdapter = config.getIoAdapter.bind(config);
    config.getIoAdapter = () => {
      const current = getIoAdapter();
      if (current instanceof LifelineWsAdapter) return current;
      if (current) throw new LifelineSetupError(FOREIGN_ADAPTER);
      const server: unknown = httpHost.httpAdapter?.getHttpServer();
      // Not an HTTP app (e.g. an application context): nothing to attach to.
      if (!server) return current;
      // The adapter reads Lifeline's services with get(token, { strict: false }), which ModuleRef offers.
      const adapter = new LifelineWsAdapter(moduleRef as never);
      // Where the stock adapter would have taken the app's HTTP server from the app itself.
      Object.defineProperty(adapter, 'httpServer', { value: server });
      config.setIoAdapter(adapter);
      return adapter;
    };
  }
}
