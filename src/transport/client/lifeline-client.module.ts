import { type DynamicModule, Module } from '@nestjs/common';
import { ClientProxyFactory, type ClientOptions } from '@nestjs/microservices';
import { LIFELINE_CLIENT_OPTIONS, LIFELINE_CLIENT_PROXY } from './lifeline-client.constants';
import type { LifelineClientOptions } from './lifeline-client.options';
import { LifelineClient } from './lifeline-client.service';

/**
 * For other Nest services: `LifelineClientModule.register({ transport: Transport.NATS,
 * options: { servers: ['nats://…'] } })`, then inject LifelineClient.
 */
@Module({})
export class LifelineClientModule {
  static register(options: LifelineClientOptions): DynamicModule {
    const { isGlobal, ...rest } = options;
    // What ClientProxyFactory takes: the options without Lifeline's own.
    const clientOptions = Object.fromEntries(
      Object.entries(rest).filter(([key]) => key !== 'prefix' && key !== 'timeoutMs'),
    ) as ClientOptions;
    return {
      module: LifelineClientModule,
      global: isGlobal ?? false,
      providers: [
        { provide: LIFELINE_CLIENT_OPTIONS, useValue: options },
        { provide: LIFELINE_CLIENT_PROXY, useFactory: () => ClientProxyFactory.create(clientOptions) },
        LifelineClient,
      ],
      exports: [LifelineClient, LIFELINE_CLIENT_PROXY],
    };
  }
}
