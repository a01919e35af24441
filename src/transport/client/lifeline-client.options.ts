import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { ClientOptions } from '@nestjs/microservices';

export type LifelineClientOptions = ClientOptions & {
  /** The prefix Lifeline was started with (MICROSERVICE_PREFIX); default none. */
  prefix?: string;
  /** How long a command waits for its reply. Default 5000 ms. */
  timeoutMs?: number;
  /** Register the module globally. */
  isGlobal?: boolean;
};

/** LifelineClientModule.registerAsync: the options from a factory (e.g. ConfigService). */
export interface LifelineClientAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => Omit<LifelineClientOptions, 'isGlobal'> | Promise<Omit<LifelineClientOptions, 'isGlobal'>>;
  inject?: FactoryProvider['inject'];
  isGlobal?: boolean;
}
