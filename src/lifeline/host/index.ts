export { LifelineSetupError, MISSING_EVENT_EMITTER, FOREIGN_ADAPTER } from './host.providers';
