/** Resolved TransportOptions (MICROSERVICE_*). */
export const TRANSPORT_OPTIONS = Symbol('LIFELINE_TRANSPORT_OPTIONS');
/** The ClientProxy lifecycle events leave through. */
export const TRANSPORT_EMITTER = Symbol('LIFELINE_TRANSPORT_EMITTER');

