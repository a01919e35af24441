export * from './lifeline-transport.interfaces';
export { LIFELINE_CLIENT_PROXY } from './lifeline-client.constants';
export { LifelineClientModule } from './lifeline-client.module';
export type { LifelineClientAsyncOptions, LifelineClientOptions } from './lifeline-client.options';
export { LifelineTransportClient } from './lifeline-client.service';
