/** Resolved TransportOptions (MICROSERVICE_*). */
export const TRANSPORT_OPTIONS = Symbol('LIFELINE_TRANSPORT_OPTIONS');
/** The ClientProxy lifecycle events leave through. */
export const TRANSPORT_EMITTER = Symbol('LIFELINE_TRANSPORT_EMITTER');

export const MICROSERVICE_TRANSPORTS = ['none', 'nats', 'redis'] as const;
export type MicroserviceTransport = (typeof MICROSERVICE_TRANSPORTS)[number];
