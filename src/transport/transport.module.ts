import { type DynamicModule, Module } from '@nestjs/common';
import { ClientProxyFactory } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import { transportController } from './lifeline-transport.controller';
import { TRANSPORT_EMITTER, TRANSPORT_OPTIONS } from './transport.constants';
import { TransportEventsForwarder } from './transport-events.forwarder';
import { TransportHealthIndicator } from './transport.health-indicator';
import { nestTransportOptions, type TransportOptions } from './transport.options';

/**
 * Lifeline as a Nest microservice (hybrid app): commands in, lifecycle events
 * out. bootstrap connects the microservice server (connectMicroservice +
 * startAllMicroservices); this module holds its handlers, the events'
 * ClientProxy and the health indicator. Global, so HealthController can
 * inject TransportHealthIndicator with @Optional().
 */
@Module({})
export class TransportModule {
  static forRoot(options: TransportOptions): DynamicModule {
    return {
      module: TransportModule,
      global: true,
      imports: [TerminusModule],
      controllers: [transportController(options.prefix)],
      providers: [
        { provide: TRANSPORT_OPTIONS, useValue: options },
        { provide: TRANSPORT_EMITTER, useFactory: () => ClientProxyFactory.create(nestTransportOptions(options)) },
        TransportEventsForwarder,
        TransportHealthIndicator,
      ],
      exports: [TRANSPORT_OPTIONS, TransportHealthIndicator],
    };
  }

  /**
   * forRoot() when MICROSERVICE_TRANSPORT is set, else an empty module. Like
   * ClusterModule.whenConfigured: decided once ConfigModule has validated the
   * environment; `env` is AppModuleOptions.env (tests).
   */
  static async whenConfigured(configModule: Promise<DynamicModule>, env?: Record<string, string>): Promise<DynamicModule> {
    try {
      await configModule;
    } catch {
      return { module: TransportModule };
    }
    const source = env ?? process.env;
    const transport = source.MICROSERVICE_TRANSPORT?.trim();
    const url = source.MICROSERVICE_URL?.trim();
    if (!transport || transport === 'none' || !url || (transport !== 'nats' && transport !== 'redis')) {
      return { module: TransportModule };
    }
    return TransportModule.forRoot({ transport, url, prefix: source.MICROSERVICE_PREFIX?.trim() ?? '' });
  }
}

