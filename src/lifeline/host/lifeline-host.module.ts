import { Module } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { HOST_EVENT_EMITTER, HOST_SCHEDULER } from './host.constants';

/**
 * Looks up what LifelineModule needs from the host app, optionally. A module
 * of its own because LifelineModule provides EventEmitter2 and
 * SchedulerRegistry locally (host.providers.ts): looked up from inside
 * LifelineModule, the tokens would find those providers, not the host's.
 */
@Module({
  providers: [
    {
      provide: HOST_EVENT_EMITTER,
      useFactory: (events?: EventEmitter2) => events,
      inject: [{ token: EventEmitter2, optional: true }],
    },
    {
      provide: HOST_SCHEDULER,
      useFactory: (scheduler?: SchedulerRegistry) => scheduler,
      inject: [{ token: SchedulerRegistry, optional: true }],
    },
  ],
  exports: [HOST_EVENT_EMITTER, HOST_SCHEDULER],
})
export class LifelineHostModule {}
