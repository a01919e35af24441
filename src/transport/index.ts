export { TransportModule } from './transport.module';
export { TransportHealthIndicator } from './transport.health-indicator';
export { TRANSPORT_OPTIONS } from './transport.constants';
export { nestTransportOptions, type TransportOptions } from './transport.options';
