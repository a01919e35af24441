/** The host app's EventEmitter2 (EventEmitterModule.forRoot()), if it has one. */
export const HOST_EVENT_EMITTER = Symbol('LIFELINE_HOST_EVENT_EMITTER');
/** The host app's SchedulerRegistry (ScheduleModule.forRoot()), if it has one. */
export const HOST_SCHEDULER = Symbol('LIFELINE_HOST_SCHEDULER');
