import { type DynamicModule, Module } from '@nestjs/common';
import { ClientProxyFactory, type ClientOptions } from '@nestjs/microservices';
import { LIFELINE_CLIENT_OPTIONS, LIFELINE_CLIENT_PROXY } from './lifeline-client.constants';
import type { LifelineClientAsyncOptions, LifelineClientOptions } from './lifeline-client.options';
import { LifelineTransportClient } from './lifeline-client.service';

/**
 * For other Nest services: `LifelineClientModule.register({ transport: Transport.NATS,
 * options: { servers: ['nats://…'] } })`, then inject LifelineTransportClient.
 */
@Module({})
export class LifelineClientModule {
  static register(options: LifelineClientOptions): DynamicModule {
    return {
      module: LifelineClientModule,
      global: options.isGlobal ?? false,
      providers: [{ provide: LIFELINE_CLIENT_OPTIONS, useValue: options }, PROXY_PROVIDER, LifelineTransportClient],
      exports: [LifelineTransportClient, LIFELINE_CLIENT_PROXY],
    };
  }

  /** `registerAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config) => ({ transport, options }) })` */
  static registerAsync(options: LifelineClientAsyncOptions): DynamicModule {
    return {
      module: LifelineClientModule,
      global: options.isGlobal ?? false,
      imports: options.imports ?? [],
      providers: [
        { provide: LIFELINE_CLIENT_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        PROXY_PROVIDER,
        LifelineTransportClient,
      ],
      exports: [LifelineTransportClient, LIFELINE_CLIENT_PROXY],
    };
  }
}

/** The ClientProxy, from the options without Lifeline's own. */
const PROXY_PROVIDER = {
  provide: LIFELINE_CLIENT_PROXY,
  inject: [LIFELINE_CLIENT_OPTIONS],
  useFactory: (options: LifelineClientOptions) => {
    const clientOptions = Object.fromEntries(
      Object.entries(options).filter(([key]) => !['prefix', 'timeoutMs', 'isGlobal'].includes(key)),
    ) as ClientOptions;
    return ClientProxyFactory.create(clientOptions);
  },
};
