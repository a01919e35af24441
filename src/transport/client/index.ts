export * from './lifeline-transport.interfaces';
export { LIFELINE_CLIENT_PROXY } from './lifeline-client.constants';
export { LifelineClientModule, type LifelineClientOptions } from './lifeline-client.module';
export { LifelineClient } from './lifeline-client.service';
