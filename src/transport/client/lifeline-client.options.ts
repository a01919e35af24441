import type { ClientOptions } from '@nestjs/microservices';

export type LifelineClientOptions = ClientOptions & {
  /** The prefix Lifeline was started with (MICROSERVICE_PREFIX); default none. */
  prefix?: string;
  /** How long a command waits for its reply. Default 5000 ms. */
  timeoutMs?: number;
  /** Register the module globally. */
  isGlobal?: boolean;
};
